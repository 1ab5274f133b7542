// CpuEngine: the cpu backend's prepared plan. Owns the oneDNN engine, the compiled Program (the
// primitives, reordered/converted weights and the memory plan) and a copy of the graph for the
// reference steps. Immutable after construction: any number of CpuContexts, on any threads, run
// it concurrently.
#pragma once

#include <memory>

#include <dnnl.hpp>

#include "inference/backend.h"
#include "inference/cpu/program.h"

namespace detstream::inference::cpu {

class CpuEngine final : public BackendEngine {
 public:
  // threads <= 0: one per core. Throws Error naming the node oneDNN cannot lower.
  CpuEngine(const Plan& plan, int threads);
  std::unique_ptr<BackendContext> create_context() const override;
  // Arena plus scratchpad: what each context allocates.
  std::size_t context_memory_bytes() const override;

  const Graph& graph() const { return graph_; }
  const Program& program() const { return program_; }
  const dnnl::engine& engine() const { return engine_; }
  int threads() const { return threads_; }

 private:
  Graph graph_;
  int threads_ = 1;
  dnnl::engine engine_;
  Program program_;
};

}  // namespace detstream::inference::cpu
