// 2-D window kernels on strided N x C x H x W views: MaxPool (also chains of them, SPPF) and
// nearest-neighbour Resize. The general kernels move one element per thread; for fp16 NHWC views
// whose channels come in 16-byte vectors (Window2d::vector8) each thread moves 8 channels with
// one load and one store, with 32-bit index arithmetic (the host checks the sizes): these layers
// are pure memory traffic.
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

// Upsampling by exactly 2 with output pixel o reading input floor(o / 2) (YOLO's nearest
// Upsample: asymmetric coordinates, floor): a thread per input vector loads it once and stores
// it to its 2 x 2 output pixels, without the per-output coordinate arithmetic above (batch 32 on
// the H200: 30 us for a 128-channel 40x40 -> 80x80 map, against ~16 us of bytes).
__global__ void upsample2x_vector8_kernel(ResizeNearestParams p, int count) {
  wait_for_producers();
  release_dependents();
  const Window2d& win = p.window;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const int groups = static_cast<int>(win.c) / 8, in_w = static_cast<int>(win.in_w), in_h = static_cast<int>(win.in_h);
  const int c = (i % groups) * 8, w = i / groups % in_w, h = i / groups / in_w % in_h, n = i / groups / in_w / in_h;
  const uint4 v = load8(p.x, n, c, h, w);
#pragma unroll
  for (int dy = 0; dy < 2; ++dy)
#pragma unroll
    for (int dx = 0; dx < 2; ++dx) store8(p.y, n, c, 2 * h + dy, 2 * w + dx, v);
}

bool is_upsample2x(const ResizeNearestParams& p) {
  const Window2d& w = p.window;
  return w.vector8 && p.coordinate == kCoordAsymmetric && p.nearest == kNearestFloor && p.scale_h == 2.0f && p.scale_w == 2.0f &&
         w.out_h == 2 * w.in_h && w.out_w == 2 * w.in_w;
}

// Chained stride-1 "same" pools (SPPF) in one kernel: each CTA loads its output tile's input
// window once, with a halo of count * k/2 pixels, into shared memory, then pools it count times
// there (a horizontal then a vertical k-wide pass per pool), storing each pool's tile as it goes.
// Outside the image every intermediate is -inf, the padding of the next pool. At batch 1 this is
// one launch on the critical path instead of three dependent ones.
constexpr int kChainTile = 10;                                 // output pixels per CTA side
constexpr int kChainHalo = 6;                                  // count * k/2 at most
constexpr int kChainSide = kChainTile + 2 * kChainHalo;        // shared tile side

__device__ __forceinline__ uint4 max8(uint4 a, uint4 b) {
  __half2* pa = reinterpret_cast<__half2*>(&a);
  const __half2* pb = reinterpret_cast<const __half2*>(&b);
#pragma unroll
  for (int j = 0; j < 4; ++j) pa[j] = __hmax2(pa[j], pb[j]);
  return a;
}

template <int K>
__global__ void __launch_bounds__(128) maxpool_chain_kernel(MaxPoolChainParams p) {
  constexpr int R = K / 2;
  __shared__ uint4 tile[kChainSide * kChainSide];  // the current pool's input, then its output
  __shared__ uint4 rows[kChainSide * kChainSide];  // horizontal maxima
  const Window2d& win = p.window;
  const int out_h = static_cast<int>(win.out_h), out_w = static_cast<int>(win.out_w);
  const TileOrigin t = tile_origin(blockIdx.x, out_h, out_w, kChainTile, kChainTile);
  const int n = t.image, oh0 = t.y0, ow0 = t.x0, c = blockIdx.y * 8;
  __half2 lowest2 = __float2half2_rn(-INFINITY);
  uint4 lowest;
  lowest.x = lowest.y = lowest.z = lowest.w = *reinterpret_cast<unsigned*>(&lowest2);
  wait_for_producers();
  release_dependents();

  int side = kChainTile + 2 * p.count * R;  // the tile's side, its origin (oh0, ow0) - (side - T) / 2
  for (int i = threadIdx.x; i < side * side; i += blockDim.x) {
    const int h = oh0 - p.count * R + i / side, w = ow0 - p.count * R + i % side;
    const bool inside = h >= 0 && h < out_h && w >= 0 && w < out_w;
    tile[i] = inside ? load8(p.x, n, c, h, w) : lowest;
  }
  __syncthreads();
  for (int pool = 0; pool < p.count; ++pool) {
    const int next = side - 2 * R;
    for (int i = threadIdx.x; i < side * next; i += blockDim.x) {
      const int r = i / next, col = i % next;
      uint4 m = tile[r * side + col];
#pragma unroll
      for (int d = 1; d < K; ++d) m = max8(m, tile[r * side + col + d]);
      rows[r * next + col] = m;
    }
    __syncthreads();
    const int halo = (p.count - 1 - pool) * R;  // of this pool's output tile
    for (int i = threadIdx.x; i < next * next; i += blockDim.x) {
      const int r = i / next, col = i % next;
      uint4 m = rows[r * next + col];
#pragma unroll
      for (int d = 1; d < K; ++d) m = max8(m, rows[(r + d) * next + col]);
      const int h = oh0 - halo + r, w = ow0 - halo + col;
      const bool inside = h >= 0 && h < out_h && w >= 0 && w < out_w;
      tile[i] = inside ? m : lowest;
      if (inside && h >= oh0 && h < oh0 + kChainTile && w >= ow0 && w < ow0 + kChainTile) store8(p.y[pool], n, c, h, w, m);
    }
    side = next;
    __syncthreads();
  }
}

}  // namespace

bool maxpool_chain_supported(const Window2d& w, int count) {
  const bool same = w.kernel_h == w.kernel_w && w.stride_h == 1 && w.stride_w == 1 && w.dilation_h == 1 && w.dilation_w == 1 &&
                    w.pad_h == w.kernel_h / 2 && w.pad_w == w.kernel_w / 2 && w.in_h == w.out_h && w.in_w == w.out_w;
  return same && w.vector8 && (w.kernel_h == 3 || w.kernel_h == 5) && count >= 1 && count <= 3 &&
         count * (w.kernel_h / 2) <= kChainHalo;
}

void launch_maxpool_chain(const MaxPoolChainParams& params, cudaStream_t stream) {
  const Window2d& w = params.window;
  if (!maxpool_chain_supported(w, params.count)) throw CudaError("maxpool chain: unsupported window or chain length");
  const long long tiles = w.n * ((w.out_h + kChainTile - 1) / kChainTile) * ((w.out_w + kChainTile - 1) / kChainTile);
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(w.c / 8));
  if (w.kernel_h == 5) return launch_dependent(maxpool_chain_kernel<5>, grid, 128, 0, stream, params);
  launch_dependent(maxpool_chain_kernel<3>, grid, 128, 0, stream, params);
}

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
  if (is_upsample2x(params)) {
    const int vectors = static_cast<int>(w.n * w.c * w.in_h * w.in_w / 8);
    launch_dependent(upsample2x_vector8_kernel, (vectors + kBlock - 1) / kBlock, kBlock, 0, stream, params, vectors);
    return;
  }
  if (w.vector8) {
    const int vectors = static_cast<int>(count / 8);
    launch_dependent(resize_nearest_vector8_kernel, (vectors + kBlock - 1) / kBlock, kBlock, 0, stream, params, vectors);
    return;
  }
  launch_dependent(resize_nearest_kernel, grid_for(count, kBlock), kBlock, 0, stream, params);
}

}  // namespace detstream::inference::cuda
