#include <vector>

#include "inference/backend.h"
#include "inference/core/error.h"
#include "inference/reference/reference_backend.h"
#ifdef DETSTREAM_WITH_DNNL
#include "inference/cpu/cpu_backend.h"
#endif
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/cuda_backend.h"
#endif

namespace detstream::inference {

namespace {
std::vector<const Backend*> all_backends() {
  std::vector<const Backend*> list{&reference_backend()};
#ifdef DETSTREAM_WITH_DNNL
  list.push_back(&cpu_backend());
#endif
#ifdef DETSTREAM_WITH_CUDA
  list.push_back(&cuda_backend());
#endif
  return list;
}
}  // namespace

const Backend& backend_named(std::string_view name) {
  for (const Backend* backend : all_backends()) {
    if (backend->name() == name) return *backend;
  }
  throw Error("unknown backend '" + std::string(name) + "' (this build has: " + available_backends() + ")");
}

std::string available_backends() {
  std::string names;
  for (const Backend* backend : all_backends()) names += (names.empty() ? "" : ", ") + std::string(backend->name());
  return names;
}

}  // namespace detstream::inference
