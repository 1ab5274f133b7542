// Split's three ways of giving sizes, by opset: attribute (2-12), input (13+), num_outputs (18+).
#include <gtest/gtest.h>

#include "inference/core/error.h"
#include "op_runner.h"

namespace detstream::inference {
namespace {

using namespace testing_ops;

Attributes axis1() { return {{"axis", Attribute::of_int(1)}}; }

std::vector<Shape> shapes_of(const std::vector<Tensor>& ts) {
  std::vector<Shape> shapes;
  for (const Tensor& t : ts) shapes.push_back(t.shape());
  return shapes;
}

TEST(SplitOp, Opset11TakesSizesFromTheAttribute) {
  Attributes attrs = axis1();
  attrs["split"] = Attribute::of_ints({1, 3});
  const auto out = run_op(make_node("Split", 11, attrs, 1, 2), {in(iota({2, 4}))});
  ASSERT_EQ(shapes_of(out), (std::vector<Shape>{{2, 1}, {2, 3}}));
  EXPECT_EQ(values_of(out[0]), (std::vector<float>{0, 4}));
  EXPECT_EQ(values_of(out[1]), (std::vector<float>{1, 2, 3, 5, 6, 7}));
}

TEST(SplitOp, Opset13TakesSizesFromTheInput) {
  const auto out = run_op(make_node("Split", 13, axis1(), 2, 2), {in(iota({2, 4})), in(ints({3, 1}))});
  ASSERT_EQ(shapes_of(out), (std::vector<Shape>{{2, 3}, {2, 1}}));
  EXPECT_EQ(values_of(out[1]), (std::vector<float>{3, 7}));
}

TEST(SplitOp, Opset13IgnoresASplitAttribute) {
  // From opset 13 'split' is an input; an attribute of that name is not part of the op.
  Attributes attrs = axis1();
  attrs["split"] = Attribute::of_ints({1, 3});
  const auto out = run_op(make_node("Split", 13, attrs, 1, 2), {in(iota({2, 4}))});
  EXPECT_EQ(shapes_of(out), (std::vector<Shape>{{2, 2}, {2, 2}}));
}

TEST(SplitOp, WithoutSizesSplitsEvenlyOrSaysWhy) {
  const auto out = run_op(make_node("Split", 13, axis1(), 1, 4), {in(iota({1, 8}))});
  EXPECT_EQ(shapes_of(out), (std::vector<Shape>(4, Shape{1, 2})));
  try {
    run_op(make_node("Split", 13, axis1(), 1, 3), {in(iota({1, 8}))});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test_Split"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not split evenly"), std::string::npos) << e.what();
  }
}

TEST(SplitOp, Opset18NumOutputsMakesTheLastChunkSmaller) {
  Attributes attrs = axis1();
  attrs["num_outputs"] = Attribute::of_int(3);
  const auto out = run_op(make_node("Split", 18, attrs, 1, 3), {in(iota({1, 7}))});
  ASSERT_EQ(shapes_of(out), (std::vector<Shape>{{1, 3}, {1, 3}, {1, 1}}));
  EXPECT_EQ(values_of(out[2]), (std::vector<float>{6}));
}

TEST(SplitOp, Opset18RejectsNumOutputsThatDisagreeWithTheOutputs) {
  Attributes attrs = axis1();
  attrs["num_outputs"] = Attribute::of_int(2);
  EXPECT_THROW(run_op(make_node("Split", 18, attrs, 1, 3), {in(iota({1, 6}))}), Error);
}

TEST(SplitOp, SizesMustAddUpAndBeKnownAtBuildTime) {
  try {
    run_op(make_node("Split", 13, axis1(), 2, 2), {in(iota({2, 4})), in(ints({1, 2}))});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not add up"), std::string::npos) << e.what();
  }
  try {
    run_op(make_node("Split", 13, axis1(), 2, 2), {in(iota({2, 4})), runtime(ints({1, 3}))});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("split input must be known at build time"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("opset 13"), std::string::npos) << e.what();
  }
}

TEST(SplitOp, NegativeAxisAndAbsentOutputs) {
  Node node = make_node("Split", 13, {{"axis", Attribute::of_int(-1)}}, 2, 3);
  const auto out = run_op(node, {in(iota({2, 6})), in(ints({1, 2, 3}))});
  EXPECT_EQ(values_of(out[2]), (std::vector<float>{3, 4, 5, 9, 10, 11}));
  // An absent middle output: the kernel still places the last chunk correctly.
  const OpSchema* schema = find_op_schema("Split");
  const Tensor x = iota({2, 6});
  const Tensor sizes = ints({1, 2, 3});
  Tensor first(DataType::kFloat32, {2, 1}), last(DataType::kFloat32, {2, 3});
  std::vector<ConstTensorView> inputs{x.view(), sizes.view()};
  std::vector<TensorView> outputs{first.view(), TensorView{}, last.view()};
  schema->compute(node, inputs, outputs);
  EXPECT_EQ(values_of(last), (std::vector<float>{3, 4, 5, 9, 10, 11}));
}

}  // namespace
}  // namespace detstream::inference
