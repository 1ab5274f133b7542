// Softmax lowering: every axis from opset 13, the legacy 2-D coercion before it, and float32
// even inside a bf16 plan.
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Graph softmax_graph(std::int64_t axis, int opset) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  g.output(g.op("Softmax", {g.op("Mul", {x, g.floats("scale", {4.0f}, {})})}, {{"axis", Attribute::of_int(axis)}}));
  g.graph.nodes.back().opset = opset;
  return g.graph;
}

TEST(SoftmaxLowering, EveryAxisMatchesReference) {
  for (std::int64_t axis : {0, 1, 2, 3, -1, -3}) {
    const Graph graph = softmax_graph(axis, 13);
    EXPECT_EQ(count_impl(build(graph, "cpu"), "cpu.dnnl", "Softmax"), 1);
    EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance) << "axis " << axis;
  }
}

TEST(SoftmaxLowering, LegacyTwoDimensionalCoercionMatchesReference) {
  for (std::int64_t axis : {1, 2, 3}) EXPECT_LE(cpu_vs_reference(softmax_graph(axis, 11)), kFp32Tolerance) << axis;
}

TEST(SoftmaxLowering, Bf16PlanStillNormalisesInFloat32) {
  DETSTREAM_REQUIRE_BF16();
  // Only the Mul before it rounds to bf16.
  EXPECT_LE(cpu_vs_reference(softmax_graph(1, 13), Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
