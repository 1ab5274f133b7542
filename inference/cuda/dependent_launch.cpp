// The process-wide switch of programmatic dependent launch (dependent_launch.h).
#include "inference/cuda/dependent_launch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace detstream::inference::cuda {

namespace {

std::atomic<bool>& switch_state() {
  static std::atomic<bool> enabled{[] {
    const char* v = std::getenv("DETSTREAM_CUDA_PDL");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }()};
  return enabled;
}

}  // namespace

bool programmatic_launch_enabled() { return switch_state().load(std::memory_order_relaxed); }

void set_programmatic_launch_enabled(bool enabled) { switch_state().store(enabled, std::memory_order_relaxed); }

namespace {
thread_local int current_priority = 0;
}  // namespace

void set_launch_priority(int priority) { current_priority = priority; }

int launch_priority() { return current_priority; }

}  // namespace detstream::inference::cuda
