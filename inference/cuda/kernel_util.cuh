// Device helpers shared by the backend's kernels: typed strided loads/stores, activations,
// offsets of a linear index in a strided iteration space. Internal to inference/cuda/.
#pragma once

#include <cuda_fp16.h>

#include "inference/cuda/kernels.h"

namespace detstream::inference::cuda {

__device__ __forceinline__ float load(const StridedOperand& o, std::int64_t offset) {
  return o.dtype == kKernelF16 ? __half2float(static_cast<const __half*>(o.data)[offset])
                               : static_cast<const float*>(o.data)[offset];
}

__device__ __forceinline__ void store(const StridedOperand& o, std::int64_t offset, float v) {
  if (o.dtype == kKernelF16) {
    static_cast<__half*>(o.data)[offset] = __float2half_rn(v);
  } else {
    static_cast<float*>(o.data)[offset] = v;
  }
}

__device__ __forceinline__ float activate(int activation, float v) {
  switch (activation) {
    case kActSilu: return v / (1.0f + expf(-v));
    case kActRelu: return v > 0.0f ? v : 0.0f;
    case kActSigmoid: return 1.0f / (1.0f + expf(-v));
    default: return v;
  }
}

inline unsigned grid_for(std::int64_t count, unsigned block) {
  const std::int64_t blocks = (count + block - 1) / block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 16 ? 65535 * 16 : blocks));
}

}  // namespace detstream::inference::cuda
