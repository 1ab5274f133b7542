// Softmax before and after opset 13: coercion to 2-D at `axis` versus normalising one axis.
#include <gtest/gtest.h>

#include <cmath>

#include "op_runner.h"

namespace detstream::inference {
namespace {

using namespace testing_ops;

// Softmax of x over the index sets {base + k * stride : k < n}.
std::vector<float> expected_softmax(const std::vector<float>& x, std::int64_t groups, std::int64_t n, std::int64_t stride,
                                    std::int64_t group_step, std::int64_t inner) {
  std::vector<float> y(x.size());
  for (std::int64_t g = 0; g < groups; ++g)
    for (std::int64_t i = 0; i < inner; ++i) {
      const std::int64_t base = g * group_step + i;
      double sum = 0;
      for (std::int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(x[base + k * stride]));
      for (std::int64_t k = 0; k < n; ++k) y[base + k * stride] = static_cast<float>(std::exp(x[base + k * stride]) / sum);
    }
  return y;
}

void expect_near(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << "at " << i;
}

TEST(SoftmaxOp, Opset11CoercesTo2dAtAxis) {
  const Tensor x = iota({2, 3, 4}, -1.0f, 0.25f);
  const auto out = run_op(make_node("Softmax", 11, {{"axis", Attribute::of_int(1)}}), {in(x)});
  // Each batch item's 12 values form one distribution.
  expect_near(values_of(out[0]), expected_softmax(values_of(x), 2, 12, 1, 12, 1));
}

TEST(SoftmaxOp, Opset13NormalisesOneAxis) {
  const Tensor x = iota({2, 3, 4}, -1.0f, 0.25f);
  const auto out = run_op(make_node("Softmax", 13, {{"axis", Attribute::of_int(1)}}), {in(x)});
  // Distributions run along the 3 entries of axis 1 (stride 4) for every (batch, last) pair.
  expect_near(values_of(out[0]), expected_softmax(values_of(x), 2, 3, 4, 12, 4));
}

TEST(SoftmaxOp, DefaultAxisDiffersByOpset) {
  const Tensor x = iota({2, 3, 4}, 0.0f, 0.5f);
  const auto legacy = run_op(make_node("Softmax", 12), {in(x)});  // axis 1, coerced
  const auto current = run_op(make_node("Softmax", 13), {in(x)});  // axis -1
  expect_near(values_of(legacy[0]), expected_softmax(values_of(x), 2, 12, 1, 12, 1));
  expect_near(values_of(current[0]), expected_softmax(values_of(x), 6, 4, 1, 4, 1));
}

TEST(SoftmaxOp, LargeInputsDoNotOverflow) {
  Tensor x = Tensor::from_float({1000.0f, 1001.0f, 1002.0f}, {1, 3});
  const auto out = run_op(make_node("Softmax", 13), {in(x)});
  expect_near(values_of(out[0]), {0.09003057f, 0.24472847f, 0.66524096f});
}

TEST(SoftmaxOp, RejectsAnAxisOutOfRange) {
  EXPECT_THROW(run_op(make_node("Softmax", 13, {{"axis", Attribute::of_int(3)}}), {in(iota({2, 3, 4}))}), Error);
}

}  // namespace
}  // namespace detstream::inference
