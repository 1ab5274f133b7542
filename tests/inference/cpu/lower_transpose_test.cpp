// Transpose lowering: one reorder with permuted source axes, from plain and from oneDNN layouts,
// as in DFL (0,2,1,3) and attention (0,1,3,2).
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

TEST(TransposeLowering, PermutationsMatchReference) {
  for (const std::vector<std::int64_t>& perm : std::vector<std::vector<std::int64_t>>{
           {0, 2, 1, 3}, {0, 1, 3, 2}, {0, 3, 1, 2}, {0, 3, 2, 1}, {3, 2, 1, 0}}) {
    TestGraph g;
    const int x = g.input("x", {1, 13, 9, 7});
    const int y = g.conv(x, 13, 13, 1);  // from a oneDNN layout
    g.output(g.op("Transpose", {y}, {{"perm", Attribute::of_ints(perm)}}));
    g.output(g.op("Transpose", {x}, {{"perm", Attribute::of_ints(perm)}}));  // from plain
    const Plan plan = build(g.graph, "cpu");
    EXPECT_EQ(count_impl(plan, "cpu.dnnl", "Transpose"), 2);
    EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
  }
}

TEST(TransposeLowering, DefaultReversesAndRankThree) {
  TestGraph g;
  const int x = g.input("x", {4, 9, 7});
  g.output(g.op("Transpose", {x}));
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(TransposeLowering, Bf16MatchesReference) {
  DETSTREAM_REQUIRE_BF16();
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  g.output(g.op("Transpose", {g.conv(x, 13, 13, 1)}, {{"perm", Attribute::of_ints({0, 2, 1, 3})}}));
  EXPECT_LE(cpu_vs_reference(g.graph, Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
