// Strided elementwise kernel: copies/conversions, broadcast binary ops, fused activations.
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

__global__ void elementwise_kernel(ElementwiseParams p) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.count; i += step) {
    std::int64_t rest = i, oa = 0, ob = 0, oy = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (d >= p.rank) continue;
      const std::int64_t c = rest % p.dims[d];
      rest /= p.dims[d];
      oa += c * p.a.strides[d];
      ob += c * p.b.strides[d];
      oy += c * p.y.strides[d];
    }
    const float a = load(p.a, oa);
    float v = a;
    switch (p.op) {
      case kOpAdd: v = a + load(p.b, ob); break;
      case kOpSub: v = a - load(p.b, ob); break;
      case kOpMul: v = a * load(p.b, ob); break;
      case kOpDiv: v = a / load(p.b, ob); break;
      default: break;
    }
    store(p.y, oy, activate(p.activation, v));
  }
}

}  // namespace

void launch_elementwise(const ElementwiseParams& params, cudaStream_t stream) {
  if (params.count <= 0) return;
  constexpr unsigned kBlock = 256;
  elementwise_kernel<<<grid_for(params.count, kBlock), kBlock, 0, stream>>>(params);
  DETSTREAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace detstream::inference::cuda
