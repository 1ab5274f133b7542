#include "inference/reference/reference_backend.h"

#include <chrono>
#include <cstring>
#include <vector>

#include "inference/core/error.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference {

namespace {

constexpr std::string_view kImpl = "ref";

class ReferenceEngine;

class ReferenceContext final : public BackendContext {
 public:
  explicit ReferenceContext(const ReferenceEngine& engine);
  Status execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) override;
  void enable_profiling(bool on) override { profiling_ = on; }
  std::span<const double> last_node_times_ms() const override { return times_; }

 private:
  ConstTensorView view_of(int id) const;
  const ReferenceEngine& engine_;
  std::vector<Tensor> activations_;  // indexed by value id; empty for constants and graph inputs
  std::vector<ConstTensorView> bound_inputs_;
  std::vector<std::vector<ConstTensorView>> node_inputs_;
  std::vector<std::vector<TensorView>> node_outputs_;
  std::vector<double> times_;
  bool profiling_ = false;
};

class ReferenceEngine final : public BackendEngine {
 public:
  explicit ReferenceEngine(const Plan& plan) : graph_(plan.graph) {
    for (const Node& node : graph_.nodes) {
      const OpSchema* schema = find_op_schema(node.op_type);
      if (!schema) throw Error(graph_.describe(node) + ": unsupported operator");
      schemas_.push_back(schema);
    }
  }
  std::unique_ptr<BackendContext> create_context() const override { return std::make_unique<ReferenceContext>(*this); }
  std::size_t context_memory_bytes() const override {
    std::size_t bytes = 0;
    for (const Node& node : graph_.nodes)
      for (int id : node.outputs)
        if (id != kNoValue) bytes += static_cast<std::size_t>(element_count(graph_.value(id).shape)) * element_size(graph_.value(id).dtype);
    return bytes;
  }
  const Graph& graph() const { return graph_; }
  const OpSchema& schema(std::size_t node) const { return *schemas_[node]; }

 private:
  Graph graph_;
  std::vector<const OpSchema*> schemas_;
};

ReferenceContext::ReferenceContext(const ReferenceEngine& engine) : engine_(engine) {
  const Graph& g = engine.graph();
  activations_.resize(g.values.size());
  bound_inputs_.resize(g.values.size());
  for (const Node& node : g.nodes) {
    for (int id : node.outputs) {
      if (id != kNoValue) activations_[static_cast<std::size_t>(id)] = Tensor(g.value(id).dtype, g.value(id).shape);
    }
  }
  node_inputs_.resize(g.nodes.size());
  node_outputs_.resize(g.nodes.size());
  times_.assign(g.nodes.size(), 0.0);
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    for (int id : g.nodes[n].outputs) {
      node_outputs_[n].push_back(id == kNoValue ? TensorView{} : activations_[static_cast<std::size_t>(id)].view());
    }
  }
}

ConstTensorView ReferenceContext::view_of(int id) const {
  if (id == kNoValue) return {};
  const Value& v = engine_.graph().value(id);
  if (v.is_constant()) return v.constant->view();
  const Tensor& t = activations_[static_cast<std::size_t>(id)];
  if (!t.empty()) return t.view();
  return bound_inputs_[static_cast<std::size_t>(id)];
}

Status ReferenceContext::execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) {
  const Graph& g = engine_.graph();
  for (std::size_t i = 0; i < g.inputs.size(); ++i) bound_inputs_[static_cast<std::size_t>(g.inputs[i])] = inputs[i];
  try {
    for (std::size_t n = 0; n < g.nodes.size(); ++n) {
      const auto start = std::chrono::steady_clock::now();
      auto& in = node_inputs_[n];
      in.clear();
      for (int id : g.nodes[n].inputs) in.push_back(view_of(id));
      engine_.schema(n).compute(g.nodes[n], in, node_outputs_[n]);
      if (profiling_) times_[n] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  } catch (const std::exception& e) {
    return Status::error(e.what());
  }
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    const ConstTensorView src = view_of(g.outputs[i]);
    const auto bytes = static_cast<std::size_t>(src.count()) * element_size(src.dtype);
    if (bytes > 0) std::memcpy(outputs[i].data, src.data, bytes);  // zero-sized outputs have no buffer
  }
  return Status::ok();
}

class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return kImpl; }
  std::string compatibility_key(Precision precision) const override {
    return "ref/any/" + std::string(to_string(precision));
  }
  void check_precision(Precision precision) const override {
    if (precision != Precision::kFp32) {
      throw Error("the reference backend runs fp32 only; asked for " + std::string(to_string(precision)));
    }
  }
  void assign(Graph& graph, Precision) const override {
    for (Node& node : graph.nodes) node.impl = std::string(kImpl);
  }
  std::unique_ptr<BackendEngine> prepare(const Plan& plan, int) const override {
    return std::make_unique<ReferenceEngine>(plan);
  }
};

}  // namespace

const Backend& reference_backend() {
  static const ReferenceBackend backend;
  return backend;
}

}  // namespace detstream::inference
