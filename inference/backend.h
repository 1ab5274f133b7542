// The backend interface: everything the builder and runtime know of a backend. A backend says
// which nodes it implements (assign, at build time: never a silent fallback at run time), states
// its compatibility key, and turns a plan into an immutable BackendEngine. A BackendEngine makes
// BackendContexts; each context owns its activations and scratch and is used by one thread at a
// time, while many contexts of one engine run concurrently.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "inference/core/status.h"
#include "inference/core/tensor.h"
#include "inference/plan/plan.h"

namespace detstream::inference {

struct BuildOptions;
class FrameDetector;  // inference/runtime/frame_detector.h

class BackendContext {
 public:
  virtual ~BackendContext() = default;
  // Inputs and outputs in the graph's input/output order, host memory, shapes already checked.
  virtual Status execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) = 0;
  // Per-node timings of the last execute, in node order, when profiling was enabled.
  virtual void enable_profiling(bool on) { (void)on; }
  virtual std::span<const double> last_node_times_ms() const { return {}; }
  // Optional: the frame path (raw BGR frames in, detection candidates out), owned by the context;
  // nullptr when the backend has none or the model does not fit it, with the reason in `why_not`.
  virtual FrameDetector* frame_detector(std::string* why_not) {
    if (why_not) *why_not = "the backend has no frame path";
    return nullptr;
  }
};

class BackendEngine {
 public:
  virtual ~BackendEngine() = default;
  virtual std::unique_ptr<BackendContext> create_context() const = 0;
  // Bytes of activation memory one context allocates (reported by inspect/bench).
  virtual std::size_t context_memory_bytes() const { return 0; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // Where a plan built now may run: backend, ISA or GPU arch, library versions, precision.
  virtual std::string compatibility_key(Precision precision) const = 0;
  // Throws Error when this machine cannot build or run at `precision` (says why).
  virtual void check_precision(Precision precision) const = 0;
  // Sets Node::impl on every node; throws Error naming the first node it cannot run.
  virtual void assign(Graph& graph, Precision precision) const = 0;
  virtual std::unique_ptr<BackendEngine> prepare(const Plan& plan, int threads) const = 0;
};

// "ref", "cpu" (oneDNN) and, when built with CUDA, "cuda". Throws Error listing the known names.
const Backend& backend_named(std::string_view name);
std::string available_backends();

}  // namespace detstream::inference
