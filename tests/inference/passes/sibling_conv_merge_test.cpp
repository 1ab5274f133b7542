// SiblingConvMerge: convolutions of one input with the same attributes become one convolution and
// a channel Split, with the same outputs on the reference backend; anything else is left alone.
#include "inference/passes/sibling_conv_merge.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "inference/reference/reference_backend.h"
#include "inference/runtime/engine.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/graph_fixtures.h"

namespace detstream::inference {
namespace {

int count_ops(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

std::vector<Tensor> run_reference(const Graph& graph, const Tensor& input) {
  Plan plan;
  plan.backend = "ref";
  plan.precision = Precision::kFp32;
  plan.compatibility_key = reference_backend().compatibility_key(Precision::kFp32);
  plan.graph = graph;
  reference_backend().assign(plan.graph, Precision::kFp32);
  return Engine::create(std::move(plan), 1)->create_context()->run({input});
}

Tensor random_input(const Shape& shape) {
  testing::TestGraph source;
  return *source.graph.value(source.random("x", shape)).constant;
}

// x feeds a 3x3 SiLU conv with bias (a), one without bias (b: zeros are stacked for it), and a
// 1x1 conv (c: another kernel); each feeds a convolution that is a graph output.
struct Siblings {
  testing::TestGraph t;
  int a = -1, b = -1, c = -1;
  Siblings() {
    const int x = t.input("x", {2, 8, 9, 7});
    a = t.conv(x, 16, 3, 1, true);
    Attributes same{{"kernel_shape", Attribute::of_ints({3, 3})},
                    {"strides", Attribute::of_ints({1, 1})},
                    {"pads", Attribute::of_ints({1, 1, 1, 1})},
                    {"activation", Attribute::of_string("silu")}};
    b = t.op("Conv", {x, t.random("wb", {24, 8, 3, 3}, 0.2f)}, {2, 24, 9, 7}, same);
    c = t.conv(x, 8, 1, 1, true);
    for (int y : {a, b, c}) t.output(t.conv(y, 4, 3, 1, false));
  }
};

TEST(SiblingConvMerge, ConvolutionsOfOneInputAlikeBecomeOneConvolutionAndASplit) {
  Siblings s;
  Graph merged = s.t.graph;
  ASSERT_TRUE(SiblingConvMerge().apply(merged));
  EXPECT_EQ(count_ops(merged, "Conv"), count_ops(s.t.graph, "Conv") - 1);
  ASSERT_EQ(count_ops(merged, "Split"), 1);
  const Node& split = *std::find_if(merged.nodes.begin(), merged.nodes.end(), [](const Node& n) { return n.op_type == "Split"; });
  EXPECT_EQ(split.outputs, (std::vector<int>{s.a, s.b})) << "the Split gives back the merged convolutions' own outputs";
  const Value& stacked = merged.value(split.inputs[0]);
  EXPECT_EQ(stacked.shape, (Shape{2, 40, 9, 7}));
  const Node& conv = *std::find_if(merged.nodes.begin(), merged.nodes.end(), [&](const Node& n) { return n.outputs[0] == split.inputs[0]; });
  EXPECT_EQ(merged.value(conv.inputs[1]).shape, (Shape{40, 8, 3, 3}));
  EXPECT_EQ(conv.attr_string("activation", ""), "silu");

  const Tensor input = random_input({2, 8, 9, 7});
  const std::vector<Tensor> before = run_reference(s.t.graph, input), after = run_reference(merged, input);
  ASSERT_EQ(before.size(), after.size());
  for (std::size_t i = 0; i < before.size(); ++i)
    EXPECT_LT(detstream::testing::relative_l2(after[i].data<float>(), before[i].data<float>(), static_cast<std::size_t>(before[i].count())), 1e-6)
        << "output " << i;
}

TEST(SiblingConvMerge, LeavesConvolutionsThatDifferOrWhoseOutputsOtherNodesReadAlone) {
  {
    Siblings s;  // b is strided: no longer a sibling of a
    for (Node& n : s.t.graph.nodes)
      if (n.outputs[0] == s.b) n.attributes["strides"] = Attribute::of_ints({2, 2});
    EXPECT_FALSE(SiblingConvMerge().apply(s.t.graph));
  }
  {
    Siblings s;  // b without its activation
    for (Node& n : s.t.graph.nodes)
      if (n.outputs[0] == s.b) n.attributes.erase("activation");
    EXPECT_FALSE(SiblingConvMerge().apply(s.t.graph));
  }
  {
    Siblings s;  // a is also a graph output
    s.t.output(s.a);
    EXPECT_FALSE(SiblingConvMerge().apply(s.t.graph));
  }
  {
    Siblings s;  // a Sigmoid reads b: the Split would be a copy for it
    s.t.output(s.t.op("Sigmoid", {s.b}, {2, 24, 9, 7}));
    EXPECT_FALSE(SiblingConvMerge().apply(s.t.graph));
  }
}

}  // namespace
}  // namespace detstream::inference
