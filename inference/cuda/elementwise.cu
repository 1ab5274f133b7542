// Strided elementwise kernel: copies/conversions, broadcast binary ops, fused activations.
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

// 32-bit index arithmetic: the host checks that counts and offsets stay below 2^31.
__global__ void elementwise_kernel(ElementwiseParams p) {
  wait_for_producers();
  release_dependents();
  const unsigned count = static_cast<unsigned>(p.count);
  const unsigned step = gridDim.x * blockDim.x;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += step) {
    unsigned rest = i;
    int oa = 0, ob = 0, oy = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (d >= p.rank) continue;
      const unsigned dim = static_cast<unsigned>(p.dims[d]);
      const int c = static_cast<int>(rest % dim);
      rest /= dim;
      oa += c * static_cast<int>(p.a.strides[d]);
      ob += c * static_cast<int>(p.b.strides[d]);
      oy += c * static_cast<int>(p.y.strides[d]);
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
  launch_dependent(elementwise_kernel, grid_for(params.count, kBlock), kBlock, 0, stream, params);
}

}  // namespace detstream::inference::cuda
