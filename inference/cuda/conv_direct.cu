// Direct convolution for few input channels (the stem): one thread per output pixel and group of
// KPT output channels, the CTA's weights in shared memory, input read in place from the graph's
// fp32 NCHW staging (neighbouring threads read neighbouring pixels, so loads coalesce and the
// window overlap hits L1). The implicit GEMM would need C padded to 8 and a layout copy first;
// with C = 3 the whole layer is a few MACs per byte, so it runs at memory speed here.
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kMaxWeightFloats = 48 * 1024 / 4;

// kC, kR, kS > 0 fix the window at compile time (the 3-channel 3x3 stem): the loops unroll and
// the 27 independent loads are all in flight before the first multiply; 0 reads them from `p`.
template <int KPT, int kC, int kR, int kS, typename In>
__global__ void __launch_bounds__(128) conv_direct_kernel(ConvDirectParams p) {
  // C x R x S x KPT of this CTA's channel group: a tap's KPT weights are adjacent, so they come
  // out of shared memory in 16-byte loads (one load per multiply made the stem issue-bound).
  extern __shared__ __align__(16) float weights[];
  const int channels = kC > 0 ? kC : p.c, rows = kR > 0 ? kR : p.r, cols = kS > 0 ? kS : p.s;
  const int window = channels * rows * cols;
  const int k0 = blockIdx.y * KPT;
  // The weights are constants: staged while the producer of x may still be running.
  for (int i = threadIdx.x; i < KPT * window; i += blockDim.x) {
    const int k = i / window, tap = i - k * window;
    weights[tap * KPT + k] = p.w[k0 * window + i];
  }
  __syncthreads();
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
  __align__(16) half out[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) out[j] = __float2half_rn(activate_fast(p.activation, acc[j]));
  half* y = static_cast<half*>(p.y) + n * p.y_sn + oh * p.y_sh + ow * p.y_sw + k0;
#pragma unroll
  for (int j = 0; j < KPT; j += 8) *reinterpret_cast<uint4*>(y + j) = *reinterpret_cast<const uint4*>(out + j);
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

void launch_conv_direct(const ConvDirectParams& p, cudaStream_t stream) {
  constexpr unsigned kBlock = 128;
  const long long pixels = static_cast<long long>(p.n) * p.out_h * p.out_w;
  const int window = p.c * p.r * p.s;
  const bool sixteen = p.k % 16 == 0 && 16 * window <= kMaxWeightFloats;
  const int per_thread = sixteen ? 16 : 8;
  const dim3 grid(static_cast<unsigned>((pixels + kBlock - 1) / kBlock), static_cast<unsigned>(p.k / per_thread));
  const std::size_t shared = static_cast<std::size_t>(per_thread) * window * sizeof(float);
  // 32-bit input offsets: the host-side layer checks tensors stay below 2^31 elements.
  const bool stem = p.c == 3 && p.r == 3 && p.s == 3;
  if (sixteen) {
    stem ? launch_typed<16, 3, 3, 3>(p, grid, kBlock, shared, stream) : launch_typed<16, 0, 0, 0>(p, grid, kBlock, shared, stream);
  } else {
    stem ? launch_typed<8, 3, 3, 3>(p, grid, kBlock, shared, stream) : launch_typed<8, 0, 0, 0>(p, grid, kBlock, shared, stream);
  }
}

}  // namespace detstream::inference::cuda
