// Binary (Add/Sub/Mul/Div with broadcasting) and unary (Sigmoid/Relu) lowering against the
// reference, including swapped broadcast operands and constants.
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

TEST(BinaryLowering, FullSizeOperandsMatchReference) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    TestGraph g;
    const int x = g.input("x", {1, 13, 9, 7});
    const int a = g.conv(x, 13, 13, 1);
    const int b = g.conv(x, 13, 13, 3, 1, 1, 1, "");
    // Div: keep the divisor away from zero.
    const int divisor = std::string(op) == "Div" ? g.op("Add", {g.op("Sigmoid", {b}), g.floats("one", {1.0f}, {})}) : b;
    g.output(g.op(op, {a, divisor}));
    const Plan plan = build(g.graph, "cpu");
    EXPECT_EQ(count_impl(plan, "cpu.dnnl", op), 1) << op;
    EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance) << op;
  }
}

TEST(BinaryLowering, BroadcastOperandsMatchReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int a = g.conv(x, 13, 13, 1);
  const int per_channel = g.weights("per_channel", {1, 13, 1, 1});
  const int per_row = g.weights("per_row", {9, 1});
  const int scalar = g.floats("scalar", {0.5f}, {});
  const int m = g.op("Mul", {per_channel, a});   // first operand broadcasts: swapped
  const int s = g.op("Sub", {m, per_row});        // rank-2 constant broadcast
  const int d = g.op("Div", {s, scalar});
  g.output(g.op("Add", {d, g.input("bias", {1, 1, 9, 7})}));
  const Plan plan = build(g.graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.ref"), 0);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(BinaryLowering, BroadcastFirstOperandOfSubStaysReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  g.output(g.op("Sub", {g.weights("c", {1, 13, 1, 1}), g.conv(x, 13, 13, 1)}));
  EXPECT_EQ(count_impl(build(g.graph, "cpu"), "cpu.ref", "Sub"), 1);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(UnaryLowering, SigmoidAndReluMatchReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int a = g.conv(x, 13, 13, 3, 1, 1, 1, "");
  g.output(g.op("Sigmoid", {a}));
  g.output(g.op("Relu", {a}));
  const Plan plan = build(g.graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.dnnl", "Sigmoid") + count_impl(plan, "cpu.dnnl", "Relu"), 2);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(UnaryLowering, SigmoidOnRankThreeAndConcatOfHeadShapesMatchReference) {
  TestGraph g;
  const int x = g.input("x", {1, 13, 63});
  const int z = g.input("z", {1, 13, 5});
  g.output(g.op("Sigmoid", {g.op("Concat", {x, z}, {{"axis", Attribute::of_int(-1)}})}));
  const Plan plan = build(g.graph, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.ref"), 0);
  EXPECT_LE(cpu_vs_reference(g.graph), kFp32Tolerance);
}

TEST(BinaryLowering, Bf16MatchesReference) {
  DETSTREAM_REQUIRE_BF16();
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int a = g.conv(x, 13, 13, 1);
  const int b = g.op("Mul", {a, g.weights("per_channel", {1, 13, 1, 1})});
  g.output(g.op("Add", {a, g.op("Sigmoid", {b})}));
  EXPECT_LE(cpu_vs_reference(g.graph, Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
