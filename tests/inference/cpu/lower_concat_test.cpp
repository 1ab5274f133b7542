// Concat and Split lowering against the reference: odd channel counts, the C2f pattern (split in
// two, bottleneck, concat of everything), concat along other axes, mixed producers.
#include <gtest/gtest.h>

#include "inference/cpu/cpu_engine.h"
#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

TEST(ConcatLowering, OddChannelCountsMatchReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int a = g.conv(x, 13, 5, 1);
  const int b = g.conv(x, 13, 13, 3);
  const int c = g.conv(x, 13, 3, 1);
  const int y = g.op("Concat", {a, b, c}, {{"axis", Attribute::of_int(1)}});
  g.output(g.conv(y, 21, 7, 1));
  const Plan plan = build(g.graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.dnnl", "Concat"), 1);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(ConcatLowering, SpatialAxisAndGraphInputsMatchReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int z = g.input("z", {1, 13, 4, 7});
  g.output(g.op("Concat", {g.conv(x, 13, 13, 1), z}, {{"axis", Attribute::of_int(-2)}}));
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

Graph c2f_graph() {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int cv1 = g.conv(x, 13, 26, 1);
  const auto halves = g.node("Split", {cv1, g.ints("split", {13, 13})}, {{"axis", Attribute::of_int(1)}}, 2);
  const int m1 = g.conv(g.conv(halves[1], 13, 13, 3), 13, 13, 3);
  const int add = g.op("Add", {halves[1], m1});
  const int cat = g.op("Concat", {halves[0], halves[1], add}, {{"axis", Attribute::of_int(1)}});
  g.output(g.conv(cat, 39, 16, 1));
  return g.graph;
}

TEST(SplitLowering, C2fPatternMatchesReference) {
  const Graph graph = c2f_graph();
  const Plan plan = build(graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.dnnl", "Split"), 1);
  EXPECT_EQ(count_impl(plan, "cpu.ref"), 0);
  EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
}

TEST(SplitLowering, UnevenThreeWaySplitToGraphOutputs) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const auto parts = g.node("Split", {g.conv(x, 13, 13, 1), g.ints("split", {2, 6, 5})}, {{"axis", Attribute::of_int(1)}}, 3);
  for (int p : parts) g.output(p);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

int steps_of(const Plan& plan, const std::string& op) {
  const cpu::CpuEngine engine(plan, 1);
  int n = 0;
  for (const cpu::Step& step : engine.program().steps)
    n += step.node >= 0 && plan.graph.nodes[static_cast<std::size_t>(step.node)].op_type == op;
  return n;
}

Graph head_concat_graph() {
  // The detection head's last concat: boxes from reference arithmetic, scores from a oneDNN
  // sigmoid, joined on axis 1 of [1, C, anchors] into the graph output.
  TestGraph g;
  const int boxes = g.op("Neg", {g.input("boxes", {1, 4, 63})});
  const int scores = g.op("Sigmoid", {g.input("logits", {1, 13, 63})});
  g.output(g.op("Concat", {boxes, scores}, {{"axis", Attribute::of_int(1)}}));
  return g.graph;
}

TEST(ConcatLowering, ContiguousPiecesAreWrittenInPlace) {
  const Graph graph = head_concat_graph();
  const Plan plan = build(graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.dnnl", "Concat"), 1);
  EXPECT_EQ(steps_of(plan, "Concat"), 0);
  EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
}

TEST(ConcatLowering, ContiguousPiecesInPlaceBf16) {
  DETSTREAM_REQUIRE_BF16();
  EXPECT_LE(cpu_vs_reference(head_concat_graph(), Precision::kBf16), kBf16Tolerance);
}

TEST(ConcatLowering, SameValueTwiceAndBatchTwoStillCorrect) {
  TestGraph g;
  const int x = g.op("Sigmoid", {g.input("x", {2, 3, 5})});
  g.output(g.op("Concat", {x, x, g.op("Relu", {x})}, {{"axis", Attribute::of_int(1)}}));
  g.output(g.op("Concat", {x, x}, {{"axis", Attribute::of_int(0)}}));
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(SplitLowering, ContiguousPiecesAreViews) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const auto parts = g.node("Split", {x, g.ints("split", {5, 8})}, {{"axis", Attribute::of_int(1)}}, 2);
  g.output(g.conv(parts[0], 5, 4, 3));
  g.output(g.conv(parts[1], 8, 4, 1));
  const Plan plan = build(g.graph, "cpu");
  EXPECT_EQ(steps_of(plan, "Split"), 0);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(SplitLowering, C2fPatternBf16) {
  DETSTREAM_REQUIRE_BF16();
  EXPECT_LE(cpu_vs_reference(c2f_graph(), Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
