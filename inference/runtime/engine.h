// Engine and ExecutionContext: the runtime. An Engine is made once from a Plan, owns the weights
// and the backend's prepared kernels, and is immutable afterwards: share it (shared_ptr) between
// threads freely. An ExecutionContext holds one inference's activations and scratch; use each
// context from one thread at a time and make one per thread/stream.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "inference/backend.h"
#include "inference/plan/plan.h"
#include "inference/runtime/frame_detector.h"

namespace detstream::inference {

struct TensorDesc {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Shape shape;
};

class ExecutionContext;

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  // Throws Error when the plan's compatibility key does not match this machine (says to rebuild).
  // threads <= 0: one per core.
  static std::shared_ptr<const Engine> create(Plan plan, int threads = 0);

  const Plan& plan() const { return plan_; }
  const std::vector<TensorDesc>& inputs() const { return inputs_; }
  const std::vector<TensorDesc>& outputs() const { return outputs_; }
  std::size_t context_memory_bytes() const { return backend_engine_->context_memory_bytes(); }
  std::unique_ptr<ExecutionContext> create_context() const;

 private:
  Engine() = default;
  Plan plan_;
  std::vector<TensorDesc> inputs_;
  std::vector<TensorDesc> outputs_;
  std::unique_ptr<BackendEngine> backend_engine_;
};

class ExecutionContext {
 public:
  // Inputs/outputs in the engine's binding order, host memory of exactly the bound shapes.
  Status execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs);
  // Convenience for tests and tools: allocates outputs; throws Error on failure.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  void enable_profiling(bool on) { backend_context_->enable_profiling(on); }
  std::span<const double> last_node_times_ms() const { return backend_context_->last_node_times_ms(); }
  // The optional frame path (frame_detector.h), owned by this context; nullptr (and why, in
  // `why_not`) when the backend or the model has none.
  FrameDetector* frame_detector(std::string* why_not = nullptr) { return backend_context_->frame_detector(why_not); }
  const Engine& engine() const { return *engine_; }

 private:
  friend class Engine;
  ExecutionContext(std::shared_ptr<const Engine> engine, std::unique_ptr<BackendContext> context)
      : engine_(std::move(engine)), backend_context_(std::move(context)) {}
  std::shared_ptr<const Engine> engine_;
  std::unique_ptr<BackendContext> backend_context_;
};

}  // namespace detstream::inference
