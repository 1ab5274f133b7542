// MatMul lowering against the reference: batched 4-D products as in YOLO11's attention, batch
// broadcasting, and a constant right operand.
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

TEST(MatMulLowering, BatchedAndBroadcastMatchReference) {
  TestGraph g;
  const int a = g.input("a", {1, 2, 9, 7});
  const int b = g.input("b", {1, 2, 7, 13});
  const int c = g.weights("c", {1, 1, 13, 5});
  g.output(g.op("MatMul", {g.op("MatMul", {a, b}), c}));
  const Plan plan = build(g.graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.dnnl", "MatMul"), 2);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(MatMulLowering, Bf16MatchesReference) {
  DETSTREAM_REQUIRE_BF16();
  TestGraph g;
  const int a = g.input("a", {1, 2, 9, 7});
  const int b = g.input("b", {1, 2, 7, 13});
  const int mm = g.op("MatMul", {a, b});
  g.output(g.op("MatMul", {mm, g.weights("c", {1, 2, 13, 5})}));
  EXPECT_LE(cpu_vs_reference(g.graph, Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
