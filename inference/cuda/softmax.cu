// Softmax along one axis of a strided view: one thread per row (the DFL head's rows are 16 long).
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

__global__ void softmax_kernel(SoftmaxParams p) {
  wait_for_producers();
  release_dependents();
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < p.rows; r += step) {
    std::int64_t rest = r, ox = 0, oy = 0;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (d >= p.rank) continue;
      const std::int64_t c = rest % p.dims[d];
      rest /= p.dims[d];
      ox += c * p.x.strides[d];
      oy += c * p.y.strides[d];
    }
    float peak = -INFINITY;
    for (std::int64_t k = 0; k < p.axis_length; ++k) peak = fmaxf(peak, load(p.x, ox + k * p.x_axis_stride));
    float sum = 0.0f;
    for (std::int64_t k = 0; k < p.axis_length; ++k) sum += expf(load(p.x, ox + k * p.x_axis_stride) - peak);
    const float inv = 1.0f / sum;
    for (std::int64_t k = 0; k < p.axis_length; ++k) {
      store(p.y, oy + k * p.y_axis_stride, expf(load(p.x, ox + k * p.x_axis_stride) - peak) * inv);
    }
  }
}

}  // namespace

void launch_softmax(const SoftmaxParams& params, cudaStream_t stream) {
  if (params.rows <= 0) return;
  constexpr unsigned kBlock = 128;
  launch_dependent(softmax_kernel, grid_for(params.rows, kBlock), kBlock, 0, stream, params);
}

}  // namespace detstream::inference::cuda
