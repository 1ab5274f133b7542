// The reference Conv (im2col + blocked sgemm, depthwise direct path) against a naive loop over
// every output, tap and channel in double, on odd shapes: 13 channels, 9x7 images, groups,
// dilations, asymmetric pads, strides, auto_pad, 1-D and 3-D, fused activations.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "inference/ops/activation.h"
#include "inference/ops/conv_geometry.h"
#include "op_runner.h"

namespace detstream::inference {
namespace {

using namespace testing_ops;

struct ConvCase {
  const char* name;
  Shape x;       // N x C x spatial
  Shape w;       // M x C/group x kernel
  std::int64_t group;
  Attributes attrs;
  bool bias;
};

Tensor random_tensor(Shape shape, unsigned seed) {
  Tensor t(DataType::kFloat32, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < t.count(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

// Direct definition of ONNX Conv: y[n, m, o...] = b[m] + sum_{c, k...} x[n, g*C/g + c, o*s - p + k*d] * w[m, c, k...].
std::vector<float> naive_conv(const Node& node, const Tensor& x, const Tensor& w, const float* bias, const Shape& y_shape) {
  std::vector<std::int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  const ops::Window3d g = ops::window3d_of(ops::resolve_window(node, x.shape(), kernel, false), x.shape());
  const std::int64_t batch = x.shape()[0], cin = x.shape()[1], cout = w.shape()[0], cin_g = w.shape()[1];
  const std::int64_t group = node.attr_int("group", 1), cout_g = cout / group;
  std::vector<float> y(static_cast<std::size_t>(element_count(y_shape)));
  std::size_t at = 0;
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t m = 0; m < cout; ++m)
      for (std::int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (std::int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (std::int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            double acc = bias ? bias[m] : 0.0;
            for (std::int64_t c = 0; c < cin_g; ++c)
              for (std::int64_t k0 = 0; k0 < g.k[0]; ++k0)
                for (std::int64_t k1 = 0; k1 < g.k[1]; ++k1)
                  for (std::int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const std::int64_t i0 = o0 * g.s[0] - g.p[0] + k0 * g.d[0];
                    const std::int64_t i1 = o1 * g.s[1] - g.p[1] + k1 * g.d[1];
                    const std::int64_t i2 = o2 * g.s[2] - g.p[2] + k2 * g.d[2];
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) continue;
                    const std::int64_t ic = (m / cout_g) * cin_g + c;
                    acc += static_cast<double>(x.data<float>()[(((n * cin + ic) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2]) *
                           w.data<float>()[(((m * cin_g + c) * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2];
                  }
            y[at++] = ops::apply_activation(ops::activation_from_node(node), static_cast<float>(acc));
          }
  return y;
}

class ConvAgainstNaive : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvAgainstNaive, Matches) {
  const ConvCase& c = GetParam();
  Attributes attrs = c.attrs;
  attrs["group"] = Attribute::of_int(c.group);
  const Tensor x = random_tensor(c.x, 1), w = random_tensor(c.w, 2), b = random_tensor({c.w[0]}, 3);
  const Node node = make_node("Conv", 17, attrs, c.bias ? 3 : 2);
  std::vector<OpInput> inputs{in(x), in(w)};
  if (c.bias) inputs.push_back(in(b));
  const auto out = run_op(node, inputs);
  const std::vector<float> expected = naive_conv(node, x, w, c.bias ? b.data<float>() : nullptr, out[0].shape());
  ASSERT_EQ(out[0].count(), static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(out[0].data<float>()[i], expected[i], 1e-4f * (1.0f + std::abs(expected[i]))) << "at " << i;
  }
}

Attributes attrs(std::vector<std::int64_t> strides, std::vector<std::int64_t> dilations, std::vector<std::int64_t> pads) {
  return {{"strides", Attribute::of_ints(std::move(strides))},
          {"dilations", Attribute::of_ints(std::move(dilations))},
          {"pads", Attribute::of_ints(std::move(pads))}};
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, ConvAgainstNaive,
    ::testing::Values(
        ConvCase{"c13_3x3_pad1", {1, 13, 9, 7}, {8, 13, 3, 3}, 1, attrs({1, 1}, {1, 1}, {1, 1, 1, 1}), true},
        ConvCase{"depthwise13_stride2", {2, 13, 9, 7}, {13, 1, 3, 3}, 13, attrs({2, 2}, {1, 1}, {1, 1, 1, 1}), true},
        ConvCase{"groups3_dilation2_asym_pads", {1, 12, 9, 7}, {9, 4, 3, 3}, 3, attrs({1, 1}, {2, 2}, {1, 2, 0, 1}), true},
        ConvCase{"pointwise_c13", {2, 13, 9, 7}, {5, 13, 1, 1}, 1, {}, false},
        ConvCase{"kernel5x3_mixed", {1, 13, 9, 7}, {7, 13, 5, 3}, 1, attrs({2, 1}, {1, 2}, {2, 1, 1, 0}), true},
        ConvCase{"auto_pad_same_upper_s2", {1, 6, 9, 7}, {4, 3, 3, 3}, 2,
                 {{"auto_pad", Attribute::of_string("SAME_UPPER")}, {"strides", Attribute::of_ints({2, 2})}}, true},
        ConvCase{"auto_pad_same_lower", {1, 5, 9, 7}, {3, 5, 4, 2}, 1, {{"auto_pad", Attribute::of_string("SAME_LOWER")}}, false},
        ConvCase{"one_output_channel", {1, 13, 9, 7}, {1, 13, 3, 3}, 1, attrs({1, 1}, {1, 1}, {1, 1, 1, 1}), true},
        ConvCase{"conv1d", {2, 13, 9}, {6, 13, 3}, 1, attrs({2}, {1}, {1, 0}), true},
        ConvCase{"conv3d", {1, 3, 5, 9, 7}, {4, 3, 3, 2, 3}, 1, attrs({1, 2, 1}, {1, 1, 2}, {1, 0, 1, 1, 1, 0}), true},
        ConvCase{"fused_silu", {1, 13, 9, 7}, {8, 13, 3, 3}, 1,
                 {{"pads", Attribute::of_ints({1, 1, 1, 1})}, {"activation", Attribute::of_string("silu")}}, true},
        ConvCase{"fused_relu_depthwise", {1, 13, 9, 7}, {13, 1, 3, 3}, 13,
                 {{"pads", Attribute::of_ints({1, 1, 1, 1})}, {"activation", Attribute::of_string("relu")}}, true}),
    [](const ::testing::TestParamInfo<ConvCase>& info) { return std::string(info.param.name); });

TEST(ConvOp, RejectsChannelMismatchNamingTheNode) {
  try {
    run_op(make_node("Conv", 17, {{"group", Attribute::of_int(2)}}, 2), {in(iota({1, 13, 9, 7})), in(iota({8, 13, 3, 3}))});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Conv 'test_Conv' (opset 17)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace detstream::inference
