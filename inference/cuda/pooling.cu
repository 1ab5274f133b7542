// 2-D window kernels on strided N x C x H x W views: MaxPool and nearest-neighbour Resize. The
// general kernels move one element per thread; for fp16 NHWC views whose channels come in 16-byte
// vectors (Window2d::vector8) each thread moves 8 channels with one load and one store, with
// 32-bit index arithmetic (the host checks the sizes): these layers are pure memory traffic.
#include <cfloat>

#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

struct Coord {
  std::int64_t n, c, h, w;
};

__device__ __forceinline__ Coord coord_of(const Window2d& win, std::int64_t i) {
  Coord k;
  if (win.channels_last) {
    k.c = i % win.c; i /= win.c;
    k.w = i % win.out_w; i /= win.out_w;
    k.h = i % win.out_h; k.n = i / win.out_h;
  } else {
    k.w = i % win.out_w; i /= win.out_w;
    k.h = i % win.out_h; i /= win.out_h;
    k.c = i % win.c; k.n = i / win.c;
  }
  return k;
}

__device__ __forceinline__ std::int64_t offset(const StridedOperand& o, std::int64_t n, std::int64_t c, std::int64_t h,
                                               std::int64_t w) {
  return n * o.strides[0] + c * o.strides[1] + h * o.strides[2] + w * o.strides[3];
}

__global__ void maxpool_kernel(MaxPoolParams p) {
  wait_for_producers();
  release_dependents();
  const Window2d& win = p.window;
  const std::int64_t count = win.n * win.c * win.out_h * win.out_w;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += step) {
    const Coord k = coord_of(win, i);
    float best = -FLT_MAX;
    bool any = false;
    for (int kh = 0; kh < win.kernel_h; ++kh) {
      const std::int64_t h = k.h * win.stride_h - win.pad_h + kh * win.dilation_h;
      if (h < 0 || h >= win.in_h) continue;
      for (int kw = 0; kw < win.kernel_w; ++kw) {
        const std::int64_t w = k.w * win.stride_w - win.pad_w + kw * win.dilation_w;
        if (w < 0 || w >= win.in_w) continue;
        best = fmaxf(best, load(p.x, offset(p.x, k.n, k.c, h, w)));
        any = true;
      }
    }
    store(p.y, offset(p.y, k.n, k.c, k.h, k.w), any ? best : -INFINITY);
  }
}

__device__ __forceinline__ std::int64_t source_index(std::int64_t out, std::int64_t in_len, std::int64_t out_len,
                                                     float scale, int coordinate, int nearest) {
  float x;
  switch (coordinate) {
    case kCoordHalfPixel: x = (out + 0.5f) / scale - 0.5f; break;
    case kCoordPytorchHalfPixel: x = out_len > 1 ? (out + 0.5f) / scale - 0.5f : 0.0f; break;
    case kCoordAlignCorners: x = out_len > 1 ? out * static_cast<float>(in_len - 1) / static_cast<float>(out_len - 1) : 0.0f; break;
    case kCoordTfHalfPixel: x = (out + 0.5f) / scale; break;
    default: x = out / scale; break;
  }
  float r;
  switch (nearest) {
    case kNearestCeil: r = ceilf(x); break;
    case kNearestRoundPreferFloor: r = (x - floorf(x) == 0.5f) ? floorf(x) : roundf(x); break;
    case kNearestRoundPreferCeil: r = floorf(x + 0.5f); break;
    default: r = floorf(x); break;
  }
  const std::int64_t index = static_cast<std::int64_t>(r);
  return index < 0 ? 0 : (index >= in_len ? in_len - 1 : index);
}

__global__ void resize_nearest_kernel(ResizeNearestParams p) {
  wait_for_producers();
  release_dependents();
  const Window2d& win = p.window;
  const std::int64_t count = win.n * win.c * win.out_h * win.out_w;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += step) {
    const Coord k = coord_of(win, i);
    const std::int64_t h = source_index(k.h, win.in_h, win.out_h, p.scale_h, p.coordinate, p.nearest);
    const std::int64_t w = source_index(k.w, win.in_w, win.out_w, p.scale_w, p.coordinate, p.nearest);
    store(p.y, offset(p.y, k.n, k.c, k.h, k.w), load(p.x, offset(p.x, k.n, k.c, h, w)));
  }
}

// 8 channels of pixel (n, h, w) of an fp16 NHWC view: 16 bytes.
__device__ __forceinline__ uint4 load8(const StridedOperand& o, int n, int c, int h, int w) {
  const half* base = static_cast<const half*>(o.data);
  return *reinterpret_cast<const uint4*>(base + n * o.strides[0] + c + h * o.strides[2] + w * o.strides[3]);
}
__device__ __forceinline__ void store8(const StridedOperand& o, int n, int c, int h, int w, uint4 v) {
  half* base = static_cast<half*>(o.data);
  *reinterpret_cast<uint4*>(base + n * o.strides[0] + c + h * o.strides[2] + w * o.strides[3]) = v;
}

struct Vector8Coord {
  int n, c, h, w;
};
__device__ __forceinline__ Vector8Coord vector8_coord(const Window2d& win, int i) {
  const int groups = static_cast<int>(win.c) / 8;
  Vector8Coord k;
  k.c = (i % groups) * 8; i /= groups;
  k.w = i % static_cast<int>(win.out_w); i /= static_cast<int>(win.out_w);
  k.h = i % static_cast<int>(win.out_h); k.n = i / static_cast<int>(win.out_h);
  return k;
}

// KH, KW > 0 fix the window at compile time (SPPF's 5x5): the loops unroll and all the window's
// loads are in flight at once; with a runtime window each max waited for its load (6.5 us for a
// 20x20x128 map).
template <int KH, int KW>
__global__ void maxpool_vector8_kernel(MaxPoolParams p, int count) {
  wait_for_producers();
  release_dependents();
  const Window2d& win = p.window;
  const int kernel_h = KH > 0 ? KH : win.kernel_h, kernel_w = KW > 0 ? KW : win.kernel_w;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const Vector8Coord k = vector8_coord(win, i);
  __half2 best[4];
  const __half2 lowest = __float2half2_rn(-INFINITY);
#pragma unroll
  for (int j = 0; j < 4; ++j) best[j] = lowest;
#pragma unroll
  for (int kh = 0; kh < kernel_h; ++kh) {
    const int h = k.h * win.stride_h - win.pad_h + kh * win.dilation_h;
    if (h < 0 || h >= win.in_h) continue;
#pragma unroll
    for (int kw = 0; kw < kernel_w; ++kw) {
      const int w = k.w * win.stride_w - win.pad_w + kw * win.dilation_w;
      if (w < 0 || w >= win.in_w) continue;
      const uint4 v = load8(p.x, k.n, k.c, h, w);
      const __half2* pair = reinterpret_cast<const __half2*>(&v);
#pragma unroll
      for (int j = 0; j < 4; ++j) best[j] = __hmax2(best[j], pair[j]);
    }
  }
  store8(p.y, k.n, k.c, k.h, k.w, *reinterpret_cast<const uint4*>(best));
}

__global__ void resize_nearest_vector8_kernel(ResizeNearestParams p, int count) {
  wait_for_producers();
  release_dependents();
  const Window2d& win = p.window;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const Vector8Coord k = vector8_coord(win, i);
  const int h = static_cast<int>(source_index(k.h, win.in_h, win.out_h, p.scale_h, p.coordinate, p.nearest));
  const int w = static_cast<int>(source_index(k.w, win.in_w, win.out_w, p.scale_w, p.coordinate, p.nearest));
  store8(p.y, k.n, k.c, k.h, k.w, load8(p.x, k.n, k.c, h, w));
}

}  // namespace

void launch_maxpool2d(const MaxPoolParams& params, cudaStream_t stream) {
  const Window2d& w = params.window;
  const std::int64_t count = w.n * w.c * w.out_h * w.out_w;
  if (count <= 0) return;
  constexpr unsigned kBlock = 256;
  if (w.vector8) {
    const int vectors = static_cast<int>(count / 8);
    const unsigned blocks = (vectors + kBlock - 1) / kBlock;
    if (w.kernel_h == 5 && w.kernel_w == 5) {
      launch_dependent(maxpool_vector8_kernel<5, 5>, blocks, kBlock, 0, stream, params, vectors);
    } else if (w.kernel_h == 3 && w.kernel_w == 3) {
      launch_dependent(maxpool_vector8_kernel<3, 3>, blocks, kBlock, 0, stream, params, vectors);
    } else {
      launch_dependent(maxpool_vector8_kernel<0, 0>, blocks, kBlock, 0, stream, params, vectors);
    }
    return;
  }
  launch_dependent(maxpool_kernel, grid_for(count, kBlock), kBlock, 0, stream, params);
}

void launch_resize_nearest(const ResizeNearestParams& params, cudaStream_t stream) {
  const Window2d& w = params.window;
  const std::int64_t count = w.n * w.c * w.out_h * w.out_w;
  if (count <= 0) return;
  constexpr unsigned kBlock = 256;
  if (w.vector8) {
    const int vectors = static_cast<int>(count / 8);
    launch_dependent(resize_nearest_vector8_kernel, (vectors + kBlock - 1) / kBlock, kBlock, 0, stream, params, vectors);
    return;
  }
  launch_dependent(resize_nearest_kernel, grid_for(count, kBlock), kBlock, 0, stream, params);
}

}  // namespace detstream::inference::cuda
