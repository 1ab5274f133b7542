// Shape-chain ops as dynamic exports use them, and the build-time errors they raise: each error
// names the op, the node and the opset, and the attribute or input that is wrong.
#include <gtest/gtest.h>

#include <functional>

#include "inference/core/error.h"
#include "op_runner.h"

namespace detstream::inference {
namespace {

using namespace testing_ops;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ShapeOp, IsAConstantForStaticInputsWithOpset15Window) {
  const auto infos = infer_op(make_node("Shape", 15, {{"start", Attribute::of_int(1)}, {"end", Attribute::of_int(-1)}}),
                              {runtime(iota({2, 3, 4, 5}))});
  ASSERT_TRUE(infos[0].constant);
  EXPECT_EQ(infos[0].constant->to_int64_vector(), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(infos[0].dtype, DataType::kInt64);
}

TEST(ReshapeOp, ZeroCopiesMinusOneInfersAllowzeroKeepsZero) {
  const auto out = run_op(make_node("Reshape", 14, {}, 2), {in(iota({2, 3, 4})), in(ints({0, -1}))});
  EXPECT_EQ(out[0].shape(), (Shape{2, 12}));
  const auto empty = run_op(make_node("Reshape", 14, {{"allowzero", Attribute::of_int(1)}}, 2),
                            {in(Tensor(DataType::kFloat32, {0, 3})), in(ints({3, 0}))});
  EXPECT_EQ(empty[0].shape(), (Shape{3, 0}));
}

TEST(ReshapeOp, ErrorsNameTheNodeAndTheInput) {
  EXPECT_NE(error_of([] { run_op(make_node("Reshape", 14, {}, 2), {in(iota({2, 3})), runtime(ints({6}))}); })
                .find("Reshape 'test_Reshape' (opset 14): its shape input must be known at build time"),
            std::string::npos);
  const std::string bad = error_of([] { run_op(make_node("Reshape", 14, {}, 2), {in(iota({2, 3})), in(ints({4, -1}))}); });
  EXPECT_NE(bad.find("Reshape 'test_Reshape' (opset 14): cannot reshape 2x3 to [4, -1]"), std::string::npos) << bad;
  EXPECT_NE(error_of([] { run_op(make_node("Reshape", 14, {}, 2), {in(iota({2, 3})), in(ints({-1, -1}))}); })
                .find("more than one -1"),
            std::string::npos);
}

TEST(UnsqueezeSqueezeOps, AxesMoveFromAttributeToInputAtOpset13) {
  const auto a = run_op(make_node("Unsqueeze", 11, {{"axes", Attribute::of_ints({0, -1})}}), {in(iota({3}))});
  EXPECT_EQ(a[0].shape(), (Shape{1, 3, 1}));
  const auto b = run_op(make_node("Unsqueeze", 13, {}, 2), {in(iota({3})), in(ints({0, -1}))});
  EXPECT_EQ(b[0].shape(), (Shape{1, 3, 1}));
  const auto c = run_op(make_node("Squeeze", 11, {{"axes", Attribute::of_ints({-1})}}), {in(iota({1, 3, 1}))});
  EXPECT_EQ(c[0].shape(), (Shape{1, 3}));
  const auto d = run_op(make_node("Squeeze", 13, {}, 2), {in(iota({1, 3, 1})), absent()});
  EXPECT_EQ(d[0].shape(), (Shape{3}));
  EXPECT_NE(error_of([] { run_op(make_node("Unsqueeze", 13, {}, 1), {in(iota({3}))}); }).find("Unsqueeze 'test_Unsqueeze' (opset 13): expects 2 inputs, got 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { run_op(make_node("Squeeze", 13, {}, 2), {in(iota({2, 3})), in(ints({0}))}); })
                .find("cannot squeeze axis 0 of 2x3"),
            std::string::npos);
}

TEST(SliceOp, NegativeStepsAndClamping) {
  // Reverse the whole last axis with INT64 extremes, take every second row from the end.
  const auto out = run_op(make_node("Slice", 13, {}, 5),
                          {in(iota({4, 3})), in(ints({-1, INT64_MAX})), in(ints({INT64_MIN, INT64_MIN})), in(ints({0, 1})),
                           in(ints({-2, -1}))});
  ASSERT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of(out[0]), (std::vector<float>{11, 10, 9, 5, 4, 3}));
  EXPECT_NE(error_of([] {
              run_op(make_node("Slice", 13, {}, 5), {in(iota({4})), in(ints({0})), in(ints({2})), absent(), in(ints({0}))});
            }).find("'steps' may not contain 0"),
            std::string::npos);
}

TEST(GatherOp, NegativeIndicesAnyAxisAndRangeChecks) {
  const auto out = run_op(make_node("Gather", 13, {{"axis", Attribute::of_int(1)}}, 2),
                          {in(iota({2, 3})), runtime(Tensor::from_int64({-1, 0}, {2}))});
  EXPECT_EQ(values_of(out[0]), (std::vector<float>{2, 0, 5, 3}));
  EXPECT_NE(error_of([] {
              run_op(make_node("Gather", 13, {}, 2), {in(iota({2, 3})), in(Tensor::from_int64({2}, {1}))});
            }).find("index 2 is out of range"),
            std::string::npos);
}

TEST(ShapeChainOps, RangeConstantOfShapeExpandCast) {
  const auto range = run_op(make_node("Range", 11, {}, 3),
                            {in(Tensor::from_float({0.5f}, {})), in(Tensor::from_float({3.0f}, {})), in(Tensor::from_float({1.0f}, {}))});
  EXPECT_EQ(values_of(range[0]), (std::vector<float>{0.5f, 1.5f, 2.5f}));
  EXPECT_NE(error_of([] {
              run_op(make_node("Range", 11, {}, 3), {in(Tensor::from_int64({0}, {})), runtime(Tensor::from_int64({4}, {})),
                                                     in(Tensor::from_int64({1}, {}))});
            }).find("input 'limit' must be known at build time"),
            std::string::npos);
  const auto filled = run_op(make_node("ConstantOfShape", 9, {{"value", Attribute::of_tensor(Tensor::from_int64({7}, {1}))}}),
                             {in(ints({2, 2}))});
  EXPECT_EQ(filled[0].dtype(), DataType::kInt64);
  EXPECT_EQ(filled[0].to_int64_vector(), (std::vector<std::int64_t>{7, 7, 7, 7}));
  const auto expanded = run_op(make_node("Expand", 13, {}, 2), {in(iota({3, 1})), in(ints({2, 1, 2}))});
  EXPECT_EQ(expanded[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values_of(expanded[0]), (std::vector<float>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}));
  const auto cast = run_op(make_node("Cast", 13, {{"to", Attribute::of_int(7)}}), {in(Tensor::from_float({-2.7f, 3.9f}, {2}))});
  EXPECT_EQ(cast[0].to_int64_vector(), (std::vector<std::int64_t>{-2, 3}));
  EXPECT_NE(error_of([] { run_op(make_node("Cast", 13, {{"to", Attribute::of_int(8)}}), {in(iota({2}))}); })
                .find("attribute 'to' = 8"),
            std::string::npos);
}

TEST(LayoutOps, ConcatAndTransposeRejectBadAttributes) {
  EXPECT_NE(error_of([] { run_op(make_node("Concat", 13, {{"axis", Attribute::of_int(2)}}, 2), {in(iota({2, 3})), in(iota({2, 3}))}); })
                .find("Concat 'test_Concat' (opset 13): attribute 'axis' = 2 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of([] { run_op(make_node("Concat", 13, {{"axis", Attribute::of_int(0)}}, 2), {in(iota({2, 3})), in(iota({2, 4}))}); })
                .find("does not concatenate"),
            std::string::npos);
  EXPECT_NE(error_of([] { run_op(make_node("Transpose", 13, {{"perm", Attribute::of_ints({0, 0})}}), {in(iota({2, 3}))}); })
                .find("attribute 'perm' = [0, 0] is not a permutation"),
            std::string::npos);
}

}  // namespace
}  // namespace detstream::inference
