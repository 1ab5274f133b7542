// Device helpers shared by the backend's kernels: typed strided loads/stores, activations,
// offsets of a linear index in a strided iteration space. Internal to inference/cuda/.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <utility>

#include "inference/cuda/cuda_check.h"
#include "inference/cuda/dependent_launch.h"
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

// activate() with the special-function unit's exp2 and reciprocal (about 5 instructions instead of
// 30): for epilogues that round to fp16 anyway, where the precise version dominated the kernels'
// instruction count (ncu: a 1x1 convolution spent most of its issue slots on SiLU). Relative error
// ~1e-6, far below fp16's 5e-4; large negative inputs still give -0 (x * rcp(inf)).
__device__ __forceinline__ float activate_fast(int activation, float v) {
  switch (activation) {
    case kActSilu: return __fdividef(v, 1.0f + __expf(-v));
    case kActRelu: return v > 0.0f ? v : 0.0f;
    case kActSigmoid: return __fdividef(1.0f, 1.0f + __expf(-v));
    default: return v;
  }
}

// Programmatic dependent launch (dependent_launch.h). Both are no-ops when the kernel was
// launched plainly, and compile to nothing below sm_90.
__device__ __forceinline__ void wait_for_producers() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
// Called after wait_for_producers(): the successor then starts no earlier than this kernel's
// producers have finished, so at most one kernel waits ahead of the one running.
__device__ __forceinline__ void release_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Enqueues `kernel` on `stream`, allowed to overlap its predecessor's tail when programmatic
// launch is enabled, at the thread's launch priority (dependent_launch.h), its CTAs grouped in clusters of `cluster` (sm_90 thread-block clusters) when
// that holds more than one; checks the launch.
template <typename... Params, typename... Args>
void launch_dependent_in_clusters(void (*kernel)(Params...), dim3 grid, dim3 cluster, dim3 block, std::size_t shared_bytes,
                                  cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attributes[3]{};
  unsigned count = 0;
  if (const int priority = launch_priority(); priority != 0) {
    attributes[count].id = cudaLaunchAttributePriority;
    attributes[count++].val.priority = priority;
  }
  if (programmatic_launch_enabled()) {
    attributes[count].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attributes[count++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (cluster.x * cluster.y * cluster.z > 1) {
    attributes[count].id = cudaLaunchAttributeClusterDimension;
    attributes[count].val.clusterDim.x = cluster.x;
    attributes[count].val.clusterDim.y = cluster.y;
    attributes[count++].val.clusterDim.z = cluster.z;
  }
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = attributes;
  config.numAttrs = count;
  DETSTREAM_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                      Args&&... args) {
  launch_dependent_in_clusters(kernel, grid, dim3(1, 1, 1), block, shared_bytes, stream, std::forward<Args>(args)...);
}

// The first output pixel of tile `index` when images of out_h x out_w are cut into th x tw tiles,
// numbered row-major over images, tile rows, tile columns.
struct TileOrigin {
  int image, y0, x0;
};
__device__ __forceinline__ TileOrigin tile_origin(int index, int out_h, int out_w, int th, int tw) {
  const int tiles_w = (out_w + tw - 1) / tw, tiles_h = (out_h + th - 1) / th;
  return {index / (tiles_w * tiles_h), (index / tiles_w) % tiles_h * th, index % tiles_w * tw};
}

// Above 48 KiB of dynamic shared memory a kernel must opt in; callers keep the result in a static
// of their own (once per kernel).
template <typename... Params>
bool allow_shared(void (*kernel)(Params...), std::size_t bytes) {
  DETSTREAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  return true;
}

// CTAs of `kernel` the GPU holds at once: the grid of a persistent kernel. Callers keep the result
// in a static of their own (one per kernel).
template <typename... Params>
int resident_ctas(void (*kernel)(Params...), int threads, std::size_t shared_bytes) {
  int device = 0, sms = 0, per_sm = 0;
  DETSTREAM_CUDA_CHECK(cudaGetDevice(&device));
  DETSTREAM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  DETSTREAM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, shared_bytes));
  return sms * (per_sm > 0 ? per_sm : 1);
}

inline unsigned grid_for(std::int64_t count, unsigned block) {
  const std::int64_t blocks = (count + block - 1) / block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 16 ? 65535 * 16 : blocks));
}

}  // namespace detstream::inference::cuda
