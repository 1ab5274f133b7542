// CpuContext: one inference's state for a CpuEngine: the activation arena (sized by the memory
// plan), a user-mode oneDNN scratchpad, a dnnl::stream, and every step's arguments resolved to
// pointers up front, so execute() only rebinds the caller's input/output pointers and runs the
// steps (no allocation of its own). Use one context from one thread at a time; contexts of the
// same engine run concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <dnnl.hpp>

#include "inference/backend.h"
#include "inference/cpu/cpu_engine.h"

namespace detstream::inference::cpu {

class CpuContext final : public BackendContext {
 public:
  explicit CpuContext(const CpuEngine& engine);
  Status execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) override;
  void enable_profiling(bool on) override { profiling_ = on; }
  std::span<const double> last_node_times_ms() const override { return times_; }

 private:
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };
  using Buffer = std::unique_ptr<std::byte[], FreeDeleter>;
  static Buffer allocate(std::size_t bytes);

  void bind_slots();
  void bind_steps();
  void bind_io(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs);
  Status run_step(std::size_t index);

  const CpuEngine& engine_;
  const Program& program_;
  Buffer arena_;
  Buffer scratchpad_;
  dnnl::stream stream_;
  std::vector<std::byte*> pointers_;       // per slot
  std::vector<dnnl::memory> memories_;     // per slot; empty where oneDNN has no descriptor
  std::vector<int> io_slots_;              // slots bound per execute (IO and views of IO), in order
  std::vector<std::vector<dnnl_exec_arg_t>> args_;  // per step
  std::vector<dnnl::memory> scratch_memories_;      // per step
  std::vector<std::vector<ConstTensorView>> ref_inputs_;
  std::vector<std::vector<TensorView>> ref_outputs_;
  std::vector<double> times_;
  bool profiling_ = false;
};

}  // namespace detstream::inference::cpu
