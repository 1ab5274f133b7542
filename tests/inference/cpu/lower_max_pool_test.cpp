// MaxPool lowering against the reference: the SPPF 5x5/s1/p2 pool, stride 2, ceil_mode.
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Graph pool_graph(std::int64_t kernel, std::int64_t stride, std::int64_t pad, bool ceil_mode) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int y = g.conv(x, 13, 13, 1);  // a oneDNN producer, so the pool sees oneDNN's layout
  g.output(g.op("MaxPool", {y}, {{"kernel_shape", Attribute::of_ints({kernel, kernel})},
                                 {"strides", Attribute::of_ints({stride, stride})},
                                 {"pads", Attribute::of_ints({pad, pad, pad, pad})},
                                 {"ceil_mode", Attribute::of_int(ceil_mode ? 1 : 0)}}));
  return g.graph;
}

TEST(MaxPoolLowering, SppfPoolMatchesReference) {
  const Graph graph = pool_graph(5, 1, 2, false);
  EXPECT_EQ(count_impl(build(graph, "cpu"), "cpu.dnnl", "MaxPool"), 1);
  EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
}

TEST(MaxPoolLowering, StrideTwoAndCeilModeMatchReference) {
  EXPECT_LE(cpu_vs_reference(pool_graph(3, 2, 0, false)), kFp32Tolerance);
  EXPECT_LE(cpu_vs_reference(pool_graph(3, 2, 0, true)), kFp32Tolerance);
  EXPECT_LE(cpu_vs_reference(pool_graph(2, 2, 0, true)), kFp32Tolerance);
}

TEST(MaxPoolLowering, OnGraphInputMatchesReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  g.output(g.op("MaxPool", {x}, {{"kernel_shape", Attribute::of_ints({3, 3})}, {"pads", Attribute::of_ints({1, 1, 1, 1})}}));
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(MaxPoolLowering, Bf16MatchesReference) {
  DETSTREAM_REQUIRE_BF16();
  EXPECT_LE(cpu_vs_reference(pool_graph(5, 1, 2, false), Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
