// The one check for every CUDA runtime and cuDNN call of the backend: DETSTREAM_CUDA_CHECK(call)
// throws cuda::CudaError naming the library, the error, the call's text, file and line. Build and
// prepare let it reach the caller as an Error; execute() catches it and returns a Status.
// Internal to inference/cuda/.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "inference/core/error.h"

namespace detstream::inference::cuda {

class CudaError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void throw_failure(const char* library, int code, const char* what, const char* call, const char* file,
                                int line);

inline void check_call(cudaError_t result, const char* call, const char* file, int line) {
  if (result != cudaSuccess) throw_failure("CUDA", static_cast<int>(result), cudaGetErrorString(result), call, file, line);
}

inline void check_call(cudnnStatus_t result, const char* call, const char* file, int line) {
  if (result != CUDNN_STATUS_SUCCESS) {
    throw_failure("cuDNN", static_cast<int>(result), cudnnGetErrorString(result), call, file, line);
  }
}

}  // namespace detstream::inference::cuda

#define DETSTREAM_CUDA_CHECK(call) ::detstream::inference::cuda::check_call((call), #call, __FILE__, __LINE__)
