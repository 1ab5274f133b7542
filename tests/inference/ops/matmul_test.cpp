// MatMul's NumPy semantics (batched broadcasting, 1-D operands) and Gemm's options.
#include <gtest/gtest.h>

#include "inference/core/error.h"
#include "op_runner.h"

namespace detstream::inference {
namespace {

using namespace testing_ops;

// out[b..., i, j] = sum_k a[.., i, k] * b[.., k, j] with explicit broadcast offsets.
float dot(const Tensor& a, std::int64_t a_off, const Tensor& b, std::int64_t b_off, std::int64_t k, std::int64_t n,
          std::int64_t i, std::int64_t j) {
  float sum = 0;
  for (std::int64_t p = 0; p < k; ++p) sum += a.data<float>()[a_off + i * k + p] * b.data<float>()[b_off + p * n + j];
  return sum;
}

TEST(MatMulOp, BroadcastsBatchDimensions) {
  const Tensor a = iota({2, 1, 3, 4}, -1.0f, 0.1f), b = iota({5, 4, 2}, 0.5f, -0.05f);
  const auto out = run_op(make_node("MatMul", 13, {}, 2), {in(a), in(b)});
  ASSERT_EQ(out[0].shape(), (Shape{2, 5, 3, 2}));
  for (std::int64_t x = 0; x < 2; ++x)
    for (std::int64_t y = 0; y < 5; ++y)
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 2; ++j) {
          const float got = out[0].data<float>()[((x * 5 + y) * 3 + i) * 2 + j];
          EXPECT_NEAR(got, dot(a, x * 12, b, y * 8, 4, 2, i, j), 1e-5) << x << y << i << j;
        }
}

TEST(MatMulOp, OneDimensionalOperandsLoseTheirUnitDimension) {
  const Tensor v = iota({4}), m = iota({2, 4, 3});
  EXPECT_EQ(run_op(make_node("MatMul", 13, {}, 2), {in(v), in(m)})[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(run_op(make_node("MatMul", 13, {}, 2), {in(iota({2, 3, 4})), in(v)})[0].shape(), (Shape{2, 3}));
  const auto scalar = run_op(make_node("MatMul", 13, {}, 2), {in(v), in(v)});
  EXPECT_EQ(scalar[0].shape(), Shape{});
  EXPECT_EQ(scalar[0].data<float>()[0], 0 + 1 + 4 + 9);
}

TEST(MatMulOp, RejectsMismatchedInnerDimensions) {
  EXPECT_THROW(run_op(make_node("MatMul", 13, {}, 2), {in(iota({3, 4})), in(iota({5, 2}))}), Error);
}

TEST(GemmOp, TransposesScalesAndBroadcastsC) {
  // A is 3x2 (transA -> 2x3), B is 4x3 (transB -> 3x4), C is a row broadcast to 2x4.
  const Tensor a = iota({3, 2}), b = iota({4, 3}, 1.0f), c = Tensor::from_float({1, 2, 3, 4}, {4});
  const Attributes attrs{{"transA", Attribute::of_int(1)}, {"transB", Attribute::of_int(1)},
                         {"alpha", Attribute::of_float(0.5f)}, {"beta", Attribute::of_float(2.0f)}};
  const auto out = run_op(make_node("Gemm", 13, attrs, 3), {in(a), in(b), in(c)});
  ASSERT_EQ(out[0].shape(), (Shape{2, 4}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      float sum = 0;
      for (int p = 0; p < 3; ++p) sum += a.data<float>()[p * 2 + i] * b.data<float>()[j * 3 + p];
      EXPECT_FLOAT_EQ(out[0].data<float>()[i * 4 + j], 0.5f * sum + 2.0f * c.data<float>()[j]);
    }
}

}  // namespace
}  // namespace detstream::inference
