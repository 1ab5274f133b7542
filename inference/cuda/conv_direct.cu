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

template <int KPT>
__global__ void __launch_bounds__(128) conv_direct_kernel(ConvDirectParams p) {
  extern __shared__ float weights[];  // KPT x C x R x S of this CTA's channel group
  const int window = p.c * p.r * p.s;
  const int k0 = blockIdx.y * KPT;
  for (int i = threadIdx.x; i < KPT * window; i += blockDim.x) weights[i] = p.w[k0 * window + i];
  __syncthreads();

  const int pixels = p.n * p.out_h * p.out_w;
  const int m = blockIdx.x * blockDim.x + threadIdx.x;
  if (m >= pixels) return;
  const int ow = m % p.out_w, t = m / p.out_w, oh = t % p.out_h, n = t / p.out_h;
  float acc[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) acc[j] = p.bias ? p.bias[k0 + j] : 0.0f;
  const long long base = n * p.x.strides[0];
  for (int c = 0; c < p.c; ++c) {
    for (int r = 0; r < p.r; ++r) {
      const int ih = oh * p.stride_h - p.pad_h + r * p.dilation_h;
      if (ih < 0 || ih >= p.h) continue;
      for (int s = 0; s < p.s; ++s) {
        const int iw = ow * p.stride_w - p.pad_w + s * p.dilation_w;
        if (iw < 0 || iw >= p.w_in) continue;
        const float v = load(p.x, base + c * p.x.strides[1] + ih * p.x.strides[2] + iw * p.x.strides[3]);
        const float* wk = weights + (c * p.r + r) * p.s + s;
#pragma unroll
        for (int j = 0; j < KPT; ++j) acc[j] += v * wk[j * window];
      }
    }
  }
  __align__(16) half out[KPT];
#pragma unroll
  for (int j = 0; j < KPT; ++j) out[j] = __float2half_rn(activate(p.activation, acc[j]));
  half* y = static_cast<half*>(p.y) + n * p.y_sn + oh * p.y_sh + ow * p.y_sw + k0;
#pragma unroll
  for (int j = 0; j < KPT; j += 8) *reinterpret_cast<uint4*>(y + j) = *reinterpret_cast<const uint4*>(out + j);
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
  if (sixteen) {
    conv_direct_kernel<16><<<grid, kBlock, shared, stream>>>(p);
  } else {
    conv_direct_kernel<8><<<grid, kBlock, shared, stream>>>(p);
  }
  DETSTREAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace detstream::inference::cuda
