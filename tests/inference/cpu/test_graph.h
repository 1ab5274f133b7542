// Small hand-built graphs for the cpu backend tests, and the harness that runs one graph on the
// reference backend and on the cpu backend and measures the relative L2 difference of every
// output. Inputs and weights are deterministic pseudo-random values in [-1, 1).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inference/builder/builder.h"
#include "inference/cpu/dnnl_platform.h"
#include "inference/graph/graph.h"
#include "inference/runtime/engine.h"
#include "support/tensor_compare.h"

namespace detstream::inference::cpu_test {

inline std::vector<float> pseudo_random(std::size_t count, std::uint32_t seed, float scale = 1.0f) {
  std::vector<float> values(count);
  std::uint32_t state = seed * 2654435761u + 12345u;
  for (float& v : values) {
    state = state * 1664525u + 1013904223u;
    v = scale * (static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f);
  }
  return values;
}

class TestGraph {
 public:
  int input(const std::string& name, Shape shape) {
    const int id = graph.add_value(Value{name, DataType::kFloat32, std::move(shape), nullptr});
    graph.inputs.push_back(id);
    return id;
  }
  int weights(const std::string& name, Shape shape, float scale = 0.5f) {
    const auto values = pseudo_random(static_cast<std::size_t>(element_count(shape)), next_seed_++, scale);
    return constant(name, Tensor::from_float(values, shape));
  }
  int floats(const std::string& name, std::vector<float> values, Shape shape) {
    return constant(name, Tensor::from_float(values, std::move(shape)));
  }
  int ints(const std::string& name, std::vector<std::int64_t> values) {
    const Shape shape{static_cast<std::int64_t>(values.size())};
    return constant(name, Tensor::from_int64(values, shape));
  }
  // Adds a node with `outputs` fresh output values; returns their ids.
  std::vector<int> node(const std::string& op, std::vector<int> inputs, Attributes attributes = {}, int outputs = 1) {
    Node n;
    n.name = op + "_" + std::to_string(graph.nodes.size());
    n.op_type = op;
    n.opset = graph.opset;
    n.inputs = std::move(inputs);
    n.attributes = std::move(attributes);
    std::vector<int> ids;
    for (int i = 0; i < outputs; ++i) {
      ids.push_back(graph.add_value(Value{n.name + "_out" + std::to_string(i), DataType::kUndefined, {}, nullptr}));
    }
    n.outputs = ids;
    graph.nodes.push_back(std::move(n));
    return ids;
  }
  int op(const std::string& op, std::vector<int> inputs, Attributes attributes = {}) {
    return node(op, std::move(inputs), std::move(attributes))[0];
  }
  // Conv with bias; `activation` "silu" is written as Sigmoid + Mul so the fusion pass runs.
  int conv(int x, std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
           std::int64_t pad = -1, std::int64_t group = 1, const std::string& activation = "silu",
           std::int64_t dilation = 1) {
    if (pad < 0) pad = (kernel - 1) * dilation / 2;
    const int w = weights("w" + std::to_string(graph.values.size()), {out_channels, in_channels / group, kernel, kernel},
                          1.0f / static_cast<float>(kernel * (in_channels / group)));
    const int b = weights("b" + std::to_string(graph.values.size()), {out_channels}, 0.1f);
    Attributes attributes{{"kernel_shape", Attribute::of_ints({kernel, kernel})},
                          {"strides", Attribute::of_ints({stride, stride})},
                          {"pads", Attribute::of_ints({pad, pad, pad, pad})},
                          {"dilations", Attribute::of_ints({dilation, dilation})},
                          {"group", Attribute::of_int(group)}};
    const int y = op("Conv", {x, w, b}, std::move(attributes));
    if (activation == "silu") return op("Mul", {y, op("Sigmoid", {y})});
    if (activation == "relu") return op("Relu", {y});
    return y;
  }
  void output(int id) { graph.outputs.push_back(id); }

  Graph graph = [] {
    Graph g;
    g.opset = 17;
    return g;
  }();

 private:
  int constant(const std::string& name, Tensor tensor) {
    const Shape shape = tensor.shape();
    const DataType dtype = tensor.dtype();
    return graph.add_value(Value{name, dtype, shape, std::make_shared<const Tensor>(std::move(tensor))});
  }
  std::uint32_t next_seed_ = 1000;
};

inline std::vector<Tensor> random_inputs(const Graph& graph) {
  std::vector<Tensor> inputs;
  std::uint32_t seed = 1;
  for (int id : graph.inputs) {
    const Value& v = graph.value(id);
    inputs.push_back(Tensor::from_float(pseudo_random(static_cast<std::size_t>(element_count(v.shape)), seed++), v.shape));
  }
  return inputs;
}

inline Plan build(const Graph& graph, const std::string& backend, Precision precision = Precision::kFp32) {
  BuildOptions options;
  options.backend = backend;
  options.precision = precision;
  const Shape& first = graph.value(graph.inputs[0]).shape;
  if (first.size() == 4) options.batch = {1, static_cast<int>(first[0]), static_cast<int>(first[0])};
  return build_plan(graph, options);
}

inline std::vector<Tensor> run_plan(Plan plan, const std::vector<Tensor>& inputs, int threads = 0) {
  const auto engine = Engine::create(std::move(plan), threads);
  return engine->create_context()->run(inputs);
}

// Largest relative L2 difference over the outputs of `graph` between "ref" and "cpu".
inline double cpu_vs_reference(const Graph& graph, Precision precision = Precision::kFp32) {
  const auto inputs = random_inputs(graph);
  const auto expected = run_plan(build(graph, "ref"), inputs);
  const auto actual = run_plan(build(graph, "cpu", precision), inputs);
  double worst = 0.0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].shape(), expected[i].shape());
    worst = std::max(worst, testing::relative_l2(actual[i].data<float>(), expected[i].data<float>(),
                                                 static_cast<std::size_t>(expected[i].count())));
  }
  return worst;
}

// Counts the nodes of a cpu plan assigned to `impl` with op type `op` (empty: any op).
inline int count_impl(const Plan& plan, const std::string& impl, const std::string& op = "") {
  int n = 0;
  for (const Node& node : plan.graph.nodes) n += node.impl == impl && (op.empty() || node.op_type == op);
  return n;
}

inline constexpr double kFp32Tolerance = 1e-5;
inline constexpr double kBf16Tolerance = 1e-2;

}  // namespace detstream::inference::cpu_test

// Skips a bf16 test, loudly, on CPUs without native bf16.
#define DETSTREAM_REQUIRE_BF16()                                                                          \
  if (!::detstream::inference::cpu::cpu_has_bf16()) {                                                    \
    GTEST_SKIP() << "\n\n*** SKIPPED: this CPU lacks bf16 (oneDNN ISA "                                   \
                 << ::detstream::inference::cpu::effective_isa_name() << "), bf16 cpu tests not run ***\n"; \
  }
