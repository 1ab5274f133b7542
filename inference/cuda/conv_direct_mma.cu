// Direct convolution for few input channels on tensor cores (the stem: C = 3, 3x3, K = 16): the
// whole window, C*R*S <= 32 values, is the depth of one 16 x K x 32 MMA per 16 output pixels.
// Each CTA stages the input window of its 8 x 32 output pixels in shared memory (coalesced rows
// of the graph's input in any layout, fp32 or fp16, converted to fp16; zero outside the image),
// then each lane gathers its A fragments from there; the weights live in B fragments. The CUDA-core
// kernel (conv_direct.cu) spends 27 x K FMAs and K/4 shared loads per pixel, which made the stem
// instruction-bound (ncu: issue slots 71% busy, 3x its byte floor at batch 32).
#include <algorithm>

#include "inference/cuda/conv_mma.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kDepth = 32;                  // two k16 steps
constexpr int kTileH = 8, kTileW = 32;      // output pixels per CTA: 16 groups of 16, 4 per warp
constexpr int kMaxPatchHalves = 24 * 1024;  // 48 KiB of shared memory

struct PatchSize {
  int h, w;
};
PatchSize patch_size(const ConvDirectParams& p) {
  return {(kTileH - 1) * p.stride_h + (p.r - 1) * p.dilation_h + 1, (kTileW - 1) * p.stride_w + (p.s - 1) * p.dilation_w + 1};
}

// NF n8 tiles: K = 8 * NF output channels.
template <int NF, typename In>
__global__ void __launch_bounds__(kWarps * 32) conv_direct_mma_kernel(ConvDirectParams p, PatchSize patch_size) {
  extern __shared__ __align__(16) half patch[];  // C x patch rows x patch columns
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int window = p.c * p.r * p.s, ph = patch_size.h, pw = patch_size.w;
  // m16n8k16 fragments: A register j (0..3) of k-step ks holds row lane/4 + 8*(j%2) at depths
  // depth(ks, j/2, 0..1); B register `upper` holds column lane/4 at depths depth(ks, upper, 0..1).
  auto depth = [&](int ks, int upper, int e) { return ks * 16 + upper * 8 + (lane % 4) * 2 + e; };
  unsigned b[2][NF][2];
#pragma unroll
  for (int ks = 0; ks < 2; ++ks)
#pragma unroll
    for (int nf = 0; nf < NF; ++nf)
#pragma unroll
      for (int upper = 0; upper < 2; ++upper) {
        const int n = nf * 8 + lane / 4;
        const int k0 = depth(ks, upper, 0), k1 = depth(ks, upper, 1);
        const __half2 pair = __floats2half2_rn(k0 < window ? p.w[n * window + k0] : 0.0f, k1 < window ? p.w[n * window + k1] : 0.0f);
        b[ks][nf][upper] = *reinterpret_cast<const unsigned*>(&pair);
      }
  // Where each of this lane's 16 depth values is in the patch, from an output pixel's first tap.
  // Depths past the window read the first tap: their weights are zero.
  int offset[2][2][2];
#pragma unroll
  for (int ks = 0; ks < 2; ++ks)
#pragma unroll
    for (int upper = 0; upper < 2; ++upper)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int k = depth(ks, upper, e);
        const int c = k / (p.r * p.s), rs = k % (p.r * p.s), r = rs / p.s, s = rs % p.s;
        offset[ks][upper][e] = k < window ? (c * ph + r * p.dilation_h) * pw + s * p.dilation_w : 0;
      }
  float2 bias[NF];
#pragma unroll
  for (int nf = 0; nf < NF; ++nf) {
    const int k = nf * 8 + (lane % 4) * 2;
    bias[nf] = p.bias ? make_float2(p.bias[k], p.bias[k + 1]) : make_float2(0.0f, 0.0f);
  }
  const int tiles_w = (p.out_w + kTileW - 1) / kTileW, tiles_h = (p.out_h + kTileH - 1) / kTileH;
  const int image = blockIdx.x / (tiles_w * tiles_h);
  const int oy0 = (blockIdx.x / tiles_w) % tiles_h * kTileH, ox0 = blockIdx.x % tiles_w * kTileW;
  const int ih0 = oy0 * p.stride_h - p.pad_h, iw0 = ox0 * p.stride_w - p.pad_w;
  wait_for_producers();
  release_dependents();

  // Stage the patch: one warp per (channel, row), lanes along the row (coalesced in NCHW).
  const In* x = static_cast<const In*>(p.x.data) + image * p.x.strides[0];
  for (int row = warp; row < p.c * ph; row += kWarps) {
    const int c = row / ph, ih = ih0 + row % ph;
    const bool row_in = static_cast<unsigned>(ih) < static_cast<unsigned>(p.h);
    const In* x_row = x + c * p.x.strides[1] + static_cast<long long>(ih) * p.x.strides[2];
    for (int col = lane; col < pw; col += 32) {
      const int iw = iw0 + col;
      const bool in = row_in && static_cast<unsigned>(iw) < static_cast<unsigned>(p.w_in);
      patch[row * pw + col] = __float2half_rn(in ? static_cast<float>(x_row[static_cast<long long>(iw) * p.x.strides[3]]) : 0.0f);
    }
  }
  __syncthreads();

  half* y = static_cast<half*>(p.y) + image * p.y_sn;
#pragma unroll 1
  for (int g = warp * 4; g < warp * 4 + 4; ++g) {
    const int py = g / 2;  // two groups of 16 per output row of the tile
    int base[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) base[h] = py * p.stride_h * pw + ((g % 2) * 16 + lane / 4 + h * 8) * p.stride_w;
    unsigned a[2][4];
#pragma unroll
    for (int ks = 0; ks < 2; ++ks)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int h = j % 2, upper = j / 2;
        const __half2 pair = __halves2half2(patch[base[h] + offset[ks][upper][0]], patch[base[h] + offset[ks][upper][1]]);
        a[ks][j] = *reinterpret_cast<const unsigned*>(&pair);
      }
    float acc[NF][4] = {};
#pragma unroll
    for (int ks = 0; ks < 2; ++ks)
#pragma unroll
      for (int nf = 0; nf < NF; ++nf) mma_16816(acc[nf], a[ks], b[ks][nf][0], b[ks][nf][1]);
    const int oy = oy0 + py;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int ox = ox0 + (g % 2) * 16 + lane / 4 + h * 8;
      if (oy >= p.out_h || ox >= p.out_w) continue;
      half* y_pixel = y + oy * p.y_sh + ox * p.y_sw;
#pragma unroll
      for (int nf = 0; nf < NF; ++nf) {
        const int k = nf * 8 + (lane % 4) * 2;
        const float v0 = acc[nf][2 * h] + bias[nf].x, v1 = acc[nf][2 * h + 1] + bias[nf].y;
        const float2 out = p.activation == kActSilu ? make_float2(activate_as<kActSilu>(0, v0), activate_as<kActSilu>(0, v1))
                                                    : make_float2(activate_fast(p.activation, v0), activate_fast(p.activation, v1));
        *reinterpret_cast<__half2*>(y_pixel + k) = __float22half2_rn(out);
      }
    }
  }
}

template <int NF>
void launch_typed(const ConvDirectParams& p, unsigned blocks, cudaStream_t stream) {
  const PatchSize size = patch_size(p);
  const std::size_t shared = static_cast<std::size_t>(p.c) * size.h * size.w * sizeof(half);
  if (p.x.dtype == kKernelF16) {
    launch_dependent(conv_direct_mma_kernel<NF, __half>, dim3(blocks), dim3(kWarps * 32), shared, stream, p, size);
  } else {
    launch_dependent(conv_direct_mma_kernel<NF, float>, dim3(blocks), dim3(kWarps * 32), shared, stream, p, size);
  }
}

}  // namespace

bool conv_direct_mma_supported(const ConvDirectParams& p) {
  const PatchSize size = patch_size(p);
  return p.c * p.r * p.s <= kDepth && (p.k == 16 || p.k == 32) && p.c * size.h * size.w <= kMaxPatchHalves;
}

void launch_conv_direct_mma(const ConvDirectParams& p, cudaStream_t stream) {
  if (!conv_direct_mma_supported(p)) throw CudaError("conv_direct_mma: window, K or patch not supported");
  const long long tiles = static_cast<long long>(p.n) * ((p.out_h + kTileH - 1) / kTileH) * ((p.out_w + kTileW - 1) / kTileW);
  p.k == 16 ? launch_typed<2>(p, static_cast<unsigned>(tiles), stream) : launch_typed<4>(p, static_cast<unsigned>(tiles), stream);
}

}  // namespace detstream::inference::cuda
