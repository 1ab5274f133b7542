// Reshape/Flatten/Squeeze/Unsqueeze lowering: views of the input's plain bytes (no step when the
// input is plain already), a single reorder when it comes from a oneDNN layout.
#include <gtest/gtest.h>

#include <map>

#include "inference/cpu/cpu_engine.h"
#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Graph reshape_graph() {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int y = g.conv(x, 13, 16, 3);
  const int r = g.op("Reshape", {y, g.ints("shape", {1, 16, -1})});
  const int u = g.op("Unsqueeze", {r, g.ints("axes", {0})});
  const int s = g.op("Squeeze", {u, g.ints("axes", {0})});
  g.output(g.op("Sigmoid", {g.op("Flatten", {s}, {{"axis", Attribute::of_int(2)}})}));
  return g.graph;
}

TEST(ReshapeLowering, ChainsAreViewsAndMatchReference) {
  const Graph graph = reshape_graph();
  const Plan plan = build(graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.ref"), 0);
  const cpu::CpuEngine engine(plan, 1);
  // At most one reorder out of the conv's layout (booked to Reshape; none where oneDNN's conv
  // writes plain already); the reshapes themselves emit nothing, and the Sigmoid writes the
  // caller's output directly.
  std::map<std::string, int> steps;
  for (const cpu::Step& step : engine.program().steps) ++steps[plan.graph.nodes[static_cast<std::size_t>(step.node)].op_type];
  EXPECT_LE(steps["Reshape"], 1);
  EXPECT_EQ(steps["Unsqueeze"] + steps["Squeeze"] + steps["Flatten"], 0);
  EXPECT_EQ(steps["Sigmoid"], 1);
  EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
}

TEST(ReshapeLowering, OnGraphInputAndToGraphOutput) {
  TestGraph g;
  const int x = g.input("x", {2, 6, 5});
  g.output(g.op("Reshape", {x, g.ints("shape", {3, 4, 5})}));
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(ReshapeLowering, Bf16MatchesReference) {
  DETSTREAM_REQUIRE_BF16();
  EXPECT_LE(cpu_vs_reference(reshape_graph(), Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
