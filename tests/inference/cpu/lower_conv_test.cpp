// Conv lowering against the reference on odd shapes: 13 channels, 9x7 maps, groups, depthwise,
// stride 2, asymmetric padding, dilation, each fused activation.
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

struct ConvCase {
  const char* name;
  std::int64_t in, out, kernel, stride, pad, group, dilation;
  const char* activation;
};

const ConvCase kCases[] = {
    {"k3_13to17_silu", 13, 17, 3, 1, 1, 1, 1, "silu"},
    {"k1_13to13_relu", 13, 13, 1, 1, 0, 1, 1, "relu"},
    {"k3_stride2", 13, 16, 3, 2, 1, 1, 1, "silu"},
    {"k3_no_pad_stride2", 6, 5, 3, 2, 0, 1, 1, ""},
    {"grouped_12in_3groups", 12, 9, 3, 1, 1, 3, 1, "silu"},
    {"depthwise_13", 13, 13, 3, 1, 1, 13, 1, "silu"},
    {"k5_pad2", 3, 7, 5, 1, 2, 1, 1, "silu"},
    {"dilated_k3", 8, 8, 3, 1, 2, 1, 2, "relu"},
};

Graph conv_graph(const ConvCase& c) {
  TestGraph g;
  const int x = g.input("x", {1, c.in, 9, 7});
  g.output(g.conv(x, c.in, c.out, c.kernel, c.stride, c.pad, c.group, c.activation, c.dilation));
  return g.graph;
}

class ConvLowering : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvLowering, MatchesReferenceFp32) {
  const Graph graph = conv_graph(GetParam());
  EXPECT_EQ(count_impl(build(graph, "cpu"), "cpu.dnnl", "Conv"), 1);
  EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
}

TEST_P(ConvLowering, MatchesReferenceBf16) {
  DETSTREAM_REQUIRE_BF16();
  EXPECT_LE(cpu_vs_reference(conv_graph(GetParam()), Precision::kBf16), kBf16Tolerance);
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvLowering, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ConvLowering, SigmoidActivationAndAsymmetricPads) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int w = g.weights("w", {5, 13, 3, 3}, 0.2f);
  const int y = g.op("Conv", {x, w}, {{"kernel_shape", Attribute::of_ints({3, 3})},
                                      {"pads", Attribute::of_ints({0, 1, 2, 1})},
                                      {"strides", Attribute::of_ints({2, 1})},
                                      {"activation", Attribute::of_string("sigmoid")}});
  g.output(y);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(ConvLowering, ChainOfConvsKeepsOneDnnLayoutsAndBatchTwo) {
  TestGraph g;
  const int x = g.input("x", {2, 3, 18, 14});
  int y = g.conv(x, 3, 16, 3, 2);
  y = g.conv(y, 16, 13, 1);
  y = g.conv(y, 13, 13, 3, 1, 1, 13);
  g.output(g.conv(y, 13, 32, 3, 2));
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(ConvLowering, ChainOfConvsBf16) {
  DETSTREAM_REQUIRE_BF16();
  TestGraph g;
  const int x = g.input("x", {1, 3, 18, 14});
  int y = g.conv(x, 3, 16, 3, 2);
  y = g.conv(y, 16, 13, 1);
  g.output(g.conv(y, 13, 32, 3, 2));
  EXPECT_LE(cpu_vs_reference(g.graph, Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
