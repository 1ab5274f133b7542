// Direct convolution for few input channels (the stem): the CTA's weights in shared memory,
// input read in place from the graph's fp32 NCHW staging. The implicit GEMM would need C padded
// to 8 and a layout copy first; with C = 3 the whole layer is a few MACs per byte.
// Kernels:
// - conv_direct_kernel: any window, stride and input type; one thread per output pixel and group
//   of KPT output channels (neighbouring threads read neighbouring pixels, so loads coalesce and
//   the window overlap hits L1).
// - conv_stem_kernel: the 3x3 stride-2 stem over fp32 rows that load as float4; one thread per
//   2 or 4 adjacent output pixels, which share the input columns of each row and every weight
//   load (fewer instructions per FMA).
// - conv_stem_mma.cu: the same stem on tensor cores.
// The variants (kDirect) are timed per layer like the other kernels' tiles.
#include <cstdint>
#include <string>

#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kMaxWeightFloats = 48 * 1024 / 4;

// Stages the CTA's KPT output channels' weights as C x R x S x KPT: a tap's KPT weights are
// adjacent, so they come out of shared memory in 16-byte loads (one load per multiply made the
// stem issue-bound).
template <int KPT>
__device__ __forceinline__ void stage_weights(const ConvDirectParams& p, int window, float* weights) {
  const int k0 = blockIdx.y * KPT;
  for (int i = threadIdx.x; i < KPT * window; i += blockDim.x) {
    const int k = i / window, tap = i - k * window;
    weights[tap * KPT + k] = p.w[k0 * window + i];
  }
  __syncthreads();
}

// Rounds KPT channel values to fp16 after the activation and stores them as 16-byte vectors.
template <int KPT>
__device__ __forceinline__ void store_channels(const float (&acc)[KPT], int activation, half* y) {
  __align__(16) half out[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) out[j] = __float2half_rn(activate_fast(activation, acc[j]));
#pragma unroll
  for (int j = 0; j < KPT; j += 8) *reinterpret_cast<uint4*>(y + j) = *reinterpret_cast<const uint4*>(out + j);
}

// kC, kR, kS > 0 fix the window at compile time (the 3-channel 3x3 stem): the loops unroll and
// the 27 independent loads are all in flight before the first multiply; 0 reads them from `p`.
template <int KPT, int kC, int kR, int kS, typename In>
__global__ void __launch_bounds__(128) conv_direct_kernel(ConvDirectParams p) {
  extern __shared__ __align__(16) float weights[];
  const int channels = kC > 0 ? kC : p.c, rows = kR > 0 ? kR : p.r, cols = kS > 0 ? kS : p.s;
  const int window = channels * rows * cols;
  const int k0 = blockIdx.y * KPT;
  stage_weights<KPT>(p, window, weights);  // constants: staged while the producer of x may still run
  wait_for_producers();
  release_dependents();

  const int pixels = p.n * p.out_h * p.out_w;
  const int m = blockIdx.x * blockDim.x + threadIdx.x;
  if (m >= pixels) return;
  const int ow = m % p.out_w, t = m / p.out_w, oh = t % p.out_h, n = t / p.out_h;
  float acc[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) acc[j] = p.bias ? p.bias[k0 + j] : 0.0f;
  const In* x = static_cast<const In*>(p.x.data) + n * p.x.strides[0];
  const int sc = static_cast<int>(p.x.strides[1]), sh = static_cast<int>(p.x.strides[2]), sw = static_cast<int>(p.x.strides[3]);
#pragma unroll
  for (int c = 0; c < channels; ++c) {
#pragma unroll
    for (int r = 0; r < rows; ++r) {
      const int ih = oh * p.stride_h - p.pad_h + r * p.dilation_h;
      const bool row_in = ih >= 0 && ih < p.h;
#pragma unroll
      for (int s = 0; s < cols; ++s) {
        const int iw = ow * p.stride_w - p.pad_w + s * p.dilation_w;
        const float v = row_in && iw >= 0 && iw < p.w_in ? static_cast<float>(x[c * sc + ih * sh + iw * sw]) : 0.0f;
        const float4* wk = reinterpret_cast<const float4*>(weights + ((c * rows + r) * cols + s) * KPT);
#pragma unroll
        for (int j = 0; j < KPT / 4; ++j) {
          const float4 w4 = wk[j];
          acc[4 * j] += v * w4.x, acc[4 * j + 1] += v * w4.y, acc[4 * j + 2] += v * w4.z, acc[4 * j + 3] += v * w4.w;
        }
      }
    }
  }
  store_channels<KPT>(acc, p.activation, static_cast<half*>(p.y) + n * p.y_sn + oh * p.y_sh + ow * p.y_sw + k0);
}

// 3 channels, 3x3, stride 2, padding 1, fp32 input with unit column stride and 16-byte aligned
// rows (stem_geometry). Output pixels P*g .. P*g+P-1 of a row read input columns 2Pg-1 .. 2Pg+2P-1:
// one scalar and P/2 float4 loads per input row, reused by P pixels x 3 taps; each weight load
// serves P pixels.
template <int KPT, int P>
__global__ void __launch_bounds__(128) conv_stem_kernel(ConvDirectParams p) {
  constexpr int kWindow = 27, kColumns = 2 * P + 1;
  static_assert(P % 2 == 0, "whole float4 loads");
  extern __shared__ __align__(16) float weights[];
  stage_weights<KPT>(p, kWindow, weights);  // constants: staged while the producer of x may still run
  wait_for_producers();
  release_dependents();

  const int groups = p.out_w / P;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.n * p.out_h * groups) return;
  const int g = i % groups, t = i / groups, oh = t % p.out_h, n = t / p.out_h;
  const int k0 = blockIdx.y * KPT;
  float acc[P][KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) {
    const float b = p.bias ? p.bias[k0 + j] : 0.0f;
#pragma unroll
    for (int q = 0; q < P; ++q) acc[q][j] = b;
  }
  const float* x = static_cast<const float*>(p.x.data) + n * p.x.strides[0];
  const int sc = static_cast<int>(p.x.strides[1]), sh = static_cast<int>(p.x.strides[2]);
  const int col0 = 2 * P * g;  // input column of v[1]
#pragma unroll
  for (int c = 0; c < 3; ++c) {
#pragma unroll
    for (int r = 0; r < 3; ++r) {
      const int ih = 2 * oh - 1 + r;
      float v[kColumns] = {};  // input columns col0 - 1 .. col0 + 2P - 1
      if (ih >= 0 && ih < p.h) {
        const float* row = x + c * sc + ih * sh + col0;
        if (col0 > 0) v[0] = row[-1];
#pragma unroll
        for (int q = 0; q < P / 2; ++q) {
          const float4 f = *reinterpret_cast<const float4*>(row + 4 * q);
          v[4 * q + 1] = f.x, v[4 * q + 2] = f.y, v[4 * q + 3] = f.z, v[4 * q + 4] = f.w;
        }
      }
#pragma unroll
      for (int s = 0; s < 3; ++s) {
        const float4* wk = reinterpret_cast<const float4*>(weights + ((c * 3 + r) * 3 + s) * KPT);
#pragma unroll
        for (int j = 0; j < KPT / 4; ++j) {
          const float4 w4 = wk[j];
#pragma unroll
          for (int q = 0; q < P; ++q) {
            const float in = v[2 * q + s];
            acc[q][4 * j] += in * w4.x, acc[q][4 * j + 1] += in * w4.y, acc[q][4 * j + 2] += in * w4.z, acc[q][4 * j + 3] += in * w4.w;
          }
        }
      }
    }
  }
  half* y = static_cast<half*>(p.y) + n * p.y_sn + oh * p.y_sh + (P * g) * p.y_sw + k0;
#pragma unroll
  for (int q = 0; q < P; ++q) store_channels<KPT>(acc[q], p.activation, y + q * p.y_sw);
}

struct DirectConfig {
  int pixels;    // output pixels per thread: 1 is conv_direct_kernel, else conv_stem_kernel; 0: conv_stem_mma.cu
  int channels;  // output channels per thread; 0: 16 where K allows, else 8
  const char* name;
};
// Which wins depends on the batch: at batch 1 the 320x320 stem has too few threads for the
// multi-pixel kernels to hide their load latency, at batch 32 ncu had the one-pixel kernel
// issue-bound (1,318 instructions per warp for 432 FMAs, L1 76% busy, 187 us) and the 4-pixel
// one with 16 channels latency-bound at 25% occupancy (99 registers).
constexpr DirectConfig kDirect[kConvDirectCount] = {
    {1, 0, "direct"}, {2, 0, "direct 2-pixel"}, {4, 0, "direct 4-pixel"}, {2, 8, "direct 2-pixel k8"}, {4, 8, "direct 4-pixel k8"},
    {0, 0, "direct mma"},
};

int channels_per_thread(const ConvDirectParams& p, int variant) {
  const int window = p.c * p.r * p.s;
  const int wanted = kDirect[variant].channels;
  return (wanted == 0 || wanted == 16) && p.k % 16 == 0 && 16 * window <= kMaxWeightFloats ? 16 : 8;
}

// The geometry conv_stem_kernel assumes: its loads of P pixels' columns stay inside every input
// row (and are 16-byte aligned, given an aligned base address).
bool stem_geometry(const ConvDirectParams& p, int pixels) {
  return conv_stem_geometry(p) && p.out_w % pixels == 0 && 2 * p.out_w <= p.w_in;
}

template <int KPT, int P>
void launch_stem(const ConvDirectParams& p, unsigned channel_groups, std::size_t shared, cudaStream_t stream) {
  constexpr unsigned kBlock = 128;
  const long long threads = static_cast<long long>(p.n) * p.out_h * (p.out_w / P);
  const dim3 grid(static_cast<unsigned>((threads + kBlock - 1) / kBlock), channel_groups);
  launch_dependent(conv_stem_kernel<KPT, P>, grid, kBlock, shared, stream, p);
}

template <int KPT, int kC, int kR, int kS>
void launch_typed(const ConvDirectParams& p, dim3 grid, unsigned block, std::size_t shared, cudaStream_t stream) {
  if (p.x.dtype == kKernelF16) {
    launch_dependent(conv_direct_kernel<KPT, kC, kR, kS, __half>, grid, block, shared, stream, p);
  } else {
    launch_dependent(conv_direct_kernel<KPT, kC, kR, kS, float>, grid, block, shared, stream, p);
  }
}

}  // namespace

bool conv_direct_supported(int c, int k, int r, int s) {
  // Beyond a few channels the implicit GEMM's tensor cores win; the direct kernel is for stems.
  return c >= 1 && c <= 4 && k % 8 == 0 && 8 * c * r * s <= kMaxWeightFloats;
}

bool conv_stem_geometry(const ConvDirectParams& p) {
  const auto& st = p.x.strides;
  return p.x.dtype == kKernelF32 && st[3] == 1 && st[0] % 4 == 0 && st[1] % 4 == 0 && st[2] % 4 == 0 && p.c == 3 && p.r == 3 &&
         p.s == 3 && p.stride_h == 2 && p.stride_w == 2 && p.pad_h == 1 && p.pad_w == 1 && p.dilation_h == 1 && p.dilation_w == 1;
}

const char* conv_direct_name(int variant) { return variant >= 0 && variant < kConvDirectCount ? kDirect[variant].name : "?"; }

bool conv_direct_variant_supported(const ConvDirectParams& p, int variant) {
  if (variant < 0 || variant >= kConvDirectCount) return false;
  if (kDirect[variant].pixels == 0) return conv_stem_mma_supported(p);
  return kDirect[variant].pixels == 1 || stem_geometry(p, kDirect[variant].pixels);
}

void launch_conv_direct(const ConvDirectParams& p, int variant, cudaStream_t stream) {
  if (!conv_direct_variant_supported(p, variant)) throw CudaError(std::string("conv_direct: ") + conv_direct_name(variant) + " does not apply");
  constexpr unsigned kBlock = 128;
  const int window = p.c * p.r * p.s;
  const int per_thread = channels_per_thread(p, variant);
  const unsigned channel_groups = static_cast<unsigned>(p.k / per_thread);
  const std::size_t shared = static_cast<std::size_t>(per_thread) * window * sizeof(float);
  const bool sixteen = per_thread == 16;
  // 32-bit input offsets: the host-side layer checks tensors stay below 2^31 elements.
  const int pixels = reinterpret_cast<std::uintptr_t>(p.x.data) % 16 == 0 ? kDirect[variant].pixels : 1;
  if (pixels == 0) return launch_conv_stem_mma(p, stream);
  if (pixels == 2) return sixteen ? launch_stem<16, 2>(p, channel_groups, shared, stream) : launch_stem<8, 2>(p, channel_groups, shared, stream);
  if (pixels == 4) return sixteen ? launch_stem<16, 4>(p, channel_groups, shared, stream) : launch_stem<8, 4>(p, channel_groups, shared, stream);
  const long long count = static_cast<long long>(p.n) * p.out_h * p.out_w;
  const dim3 grid(static_cast<unsigned>((count + kBlock - 1) / kBlock), channel_groups);
  const bool stem = p.c == 3 && p.r == 3 && p.s == 3;
  if (sixteen) {
    stem ? launch_typed<16, 3, 3, 3>(p, grid, kBlock, shared, stream) : launch_typed<16, 0, 0, 0>(p, grid, kBlock, shared, stream);
  } else {
    stem ? launch_typed<8, 3, 3, 3>(p, grid, kBlock, shared, stream) : launch_typed<8, 0, 0, 0>(p, grid, kBlock, shared, stream);
  }
}

}  // namespace detstream::inference::cuda
