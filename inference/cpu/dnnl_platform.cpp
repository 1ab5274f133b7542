#include "inference/cpu/dnnl_platform.h"

#include <omp.h>

#include <dnnl.hpp>

namespace detstream::inference::cpu {

std::string effective_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa" + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
  }
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

bool cpu_has_bf16() {
  // ISA values are nested bit masks: AMX includes every avx512_core_bf16 bit.
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

int default_thread_count() { return omp_get_num_procs(); }

ThreadScope::ThreadScope(int threads) {
  if (threads <= 0) return;
  saved_ = omp_get_max_threads();
  if (saved_ == threads) return;
  omp_set_num_threads(threads);
  changed_ = true;
}

ThreadScope::~ThreadScope() {
  if (changed_) omp_set_num_threads(saved_);
}

}  // namespace detstream::inference::cpu
