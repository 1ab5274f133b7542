#include "inference/runtime/engine.h"

#include "inference/core/error.h"

namespace detstream::inference {

namespace {
std::vector<TensorDesc> describe(const Graph& graph, const std::vector<int>& ids) {
  std::vector<TensorDesc> descs;
  for (int id : ids) descs.push_back({graph.value(id).name, graph.value(id).dtype, graph.value(id).shape});
  return descs;
}

Status check_binding(const TensorDesc& desc, DataType dtype, const Shape& shape, const void* data, const char* kind) {
  // A zero-sized tensor (a 0 dimension) legitimately has no buffer.
  if (!data && element_count(shape) != 0) return Status::error(std::string(kind) + " '" + desc.name + "' is not bound");
  if (dtype != desc.dtype || shape != desc.shape) {
    return Status::error(std::string(kind) + " '" + desc.name + "' expects " + std::string(to_string(desc.dtype)) + " " +
                         to_string(desc.shape) + " but got " + std::string(to_string(dtype)) + " " + to_string(shape));
  }
  return Status::ok();
}
}  // namespace

std::shared_ptr<const Engine> Engine::create(Plan plan, int threads) {
  const Backend& backend = backend_named(plan.backend);
  const std::string here = backend.compatibility_key(plan.precision);
  if (plan.compatibility_key != here) {
    throw Error("the plan was built for '" + plan.compatibility_key + "' but this machine is '" + here +
                "': rebuild the plan from the ONNX model here (detstream build, or pass the .onnx to run/bench/detect)");
  }
  std::shared_ptr<Engine> engine(new Engine());
  engine->inputs_ = describe(plan.graph, plan.graph.inputs);
  engine->outputs_ = describe(plan.graph, plan.graph.outputs);
  engine->backend_engine_ = backend.prepare(plan, threads);
  engine->plan_ = std::move(plan);
  return engine;
}

std::unique_ptr<ExecutionContext> Engine::create_context() const {
  return std::unique_ptr<ExecutionContext>(new ExecutionContext(shared_from_this(), backend_engine_->create_context()));
}

Status ExecutionContext::execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) {
  const auto& in_descs = engine_->inputs();
  const auto& out_descs = engine_->outputs();
  if (inputs.size() != in_descs.size() || outputs.size() != out_descs.size()) {
    return Status::error("expected " + std::to_string(in_descs.size()) + " inputs and " + std::to_string(out_descs.size()) +
                         " outputs, got " + std::to_string(inputs.size()) + " and " + std::to_string(outputs.size()));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (Status s = check_binding(in_descs[i], inputs[i].dtype, inputs[i].shape, inputs[i].data, "input"); !s) return s;
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (Status s = check_binding(out_descs[i], outputs[i].dtype, outputs[i].shape, outputs[i].data, "output"); !s) return s;
  }
  return backend_context_->execute(inputs, outputs);
}

std::vector<Tensor> ExecutionContext::run(const std::vector<Tensor>& inputs) {
  std::vector<ConstTensorView> in;
  for (const Tensor& t : inputs) in.push_back(t.view());
  std::vector<Tensor> results;
  std::vector<TensorView> out;
  for (const TensorDesc& desc : engine_->outputs()) results.emplace_back(desc.dtype, desc.shape);
  for (Tensor& t : results) out.push_back(t.view());
  if (Status s = execute(in, out); !s) throw Error(s.message());
  return results;
}

}  // namespace detstream::inference
