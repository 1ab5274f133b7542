// What the oneDNN build on this machine is and how it threads: the ISA oneDNN dispatches to, its
// version, whether the CPU runs bf16 natively, and an RAII scope that sets oneDNN's thread count.
// Debian's libdnnl (2.6.3) uses the OpenMP runtime, where the thread count is the calling
// thread's OpenMP ICV (omp_set_num_threads): ThreadScope sets it for one call and restores it, so
// the caller's own OpenMP settings are left as they were. Everything here is thread-safe.
#pragma once

#include <string>

namespace detstream::inference::cpu {

// "avx512_core_bf16", "avx2", ... : what dnnl::get_effective_cpu_isa() reports.
std::string effective_isa_name();
// "2.6.3"
std::string onednn_version();
// True when oneDNN dispatches to an ISA with native bf16 (AVX512-BF16 or AMX).
bool cpu_has_bf16();
// Number of cores OpenMP sees (the default thread count).
int default_thread_count();

// Sets the calling thread's oneDNN/OpenMP thread count for its lifetime. threads <= 0 keeps the
// current setting. Cheap (no allocation): used around every execute.
class ThreadScope {
 public:
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_ = 0;
  bool changed_ = false;
};

}  // namespace detstream::inference::cpu
