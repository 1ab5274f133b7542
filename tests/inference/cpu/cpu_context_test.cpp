// Contexts of one cpu engine: two threads with two contexts give the outputs of one, memory is
// planned with reuse, profiling books a time to every node, thread counts are honoured.
#include "inference/cpu/cpu_context.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Graph deep_graph() {
  TestGraph g;
  const int x = g.input("x", {1, 3, 32, 24});
  int y = g.conv(x, 3, 16, 3, 2);
  for (int i = 0; i < 6; ++i) y = g.conv(y, 16, 16, 3);
  g.output(g.op("Identity", {g.conv(y, 16, 8, 1)}));
  return g.graph;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.byte_size() == b.byte_size() && std::memcmp(a.raw(), b.raw(), a.byte_size()) == 0;
}

TEST(CpuContext, TwoThreadsTwoContextsGiveTheOutputsOfOne) {
  const auto engine = Engine::create(build(deep_graph(), "cpu"));
  const auto inputs = random_inputs(engine->plan().graph);
  std::vector<Tensor> other_inputs{Tensor::from_float(pseudo_random(3 * 32 * 24, 77), {1, 3, 32, 24})};
  const auto expected = engine->create_context()->run(inputs);
  const auto expected_other = engine->create_context()->run(other_inputs);
  auto worker = [&](const std::vector<Tensor>& in, const std::vector<Tensor>& want, bool& ok) {
    auto context = engine->create_context();
    ok = true;
    for (int i = 0; i < 20; ++i) ok = ok && same_bytes(context->run(in)[0], want[0]);
  };
  bool ok_a = false, ok_b = false;
  std::thread a(worker, std::cref(inputs), std::cref(expected), std::ref(ok_a));
  std::thread b(worker, std::cref(other_inputs), std::cref(expected_other), std::ref(ok_b));
  a.join();
  b.join();
  EXPECT_TRUE(ok_a);
  EXPECT_TRUE(ok_b);
}

TEST(CpuContext, ActivationMemoryIsReused) {
  const Plan plan = build(deep_graph(), "cpu");
  std::size_t all_activations = 0;
  for (const Node& node : plan.graph.nodes)
    for (int id : node.outputs) all_activations += static_cast<std::size_t>(element_count(plan.graph.value(id).shape)) * 4;
  const auto engine = Engine::create(plan);
  EXPECT_GT(engine->context_memory_bytes(), 0u);
  EXPECT_LT(engine->context_memory_bytes(), all_activations / 2);
}

TEST(CpuContext, ProfilingBooksTimeToNodesInNodeOrder) {
  const auto engine = Engine::create(build(deep_graph(), "cpu"));
  auto context = engine->create_context();
  const auto inputs = random_inputs(engine->plan().graph);
  context->run(inputs);
  EXPECT_TRUE(std::all_of(context->last_node_times_ms().begin(), context->last_node_times_ms().end(),
                          [](double t) { return t == 0.0; }));
  context->enable_profiling(true);
  context->run(inputs);
  const auto times = context->last_node_times_ms();
  ASSERT_EQ(times.size(), engine->plan().graph.nodes.size());
  for (double t : times) EXPECT_GT(t, 0.0);
}

TEST(CpuContext, ThreadCountsGiveTheSameOutputs) {
  const Plan plan = build(deep_graph(), "cpu");
  const auto inputs = random_inputs(plan.graph);
  const auto one = run_plan(plan, inputs, 1);
  const auto two = run_plan(plan, inputs, 2);
  EXPECT_LE(testing::relative_l2(one[0].data<float>(), two[0].data<float>(), static_cast<std::size_t>(one[0].count())),
            1e-6);
}

TEST(CpuContext, WrongBindingsAreStatusesNotCrashes) {
  const auto engine = Engine::create(build(deep_graph(), "cpu"));
  auto context = engine->create_context();
  Tensor wrong(DataType::kFloat32, {1, 3, 8, 8});
  Tensor out(DataType::kFloat32, engine->outputs()[0].shape);
  const std::vector<ConstTensorView> in{wrong.view()};
  const std::vector<TensorView> outs{out.view()};
  EXPECT_FALSE(context->execute(in, outs).is_ok());
}

}  // namespace
}  // namespace detstream::inference::cpu_test
