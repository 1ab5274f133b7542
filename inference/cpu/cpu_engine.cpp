#include "inference/cpu/cpu_engine.h"

#include "inference/cpu/cpu_context.h"
#include "inference/cpu/dnnl_platform.h"
#include "inference/cpu/lowering.h"
#include "inference/cpu/memory_plan.h"

namespace detstream::inference::cpu {

CpuEngine::CpuEngine(const Plan& plan, int threads)
    : graph_(plan.graph),
      threads_(threads > 0 ? threads : default_thread_count()),
      engine_(dnnl::engine::kind::cpu, 0) {
  // Some kernels size their work split by the thread count at creation: create them with ours.
  const ThreadScope scope(threads_);
  program_ = Lowering(graph_, plan.precision, engine_).run();
  plan_memory(program_);
}

std::unique_ptr<BackendContext> CpuEngine::create_context() const { return std::make_unique<CpuContext>(*this); }

std::size_t CpuEngine::context_memory_bytes() const { return program_.arena_bytes + program_.scratchpad_bytes; }

}  // namespace detstream::inference::cpu
