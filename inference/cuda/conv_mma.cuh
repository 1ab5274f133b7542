// Tensor-core building blocks shared by the convolution kernels (conv_igemm.cu, conv_halo.cu):
// cp.async copies into shared memory, ldmatrix fragment loads, the m16n8k16 fp16 MMA with fp32
// accumulation, and the epilogue that turns a warp's accumulators into the layer's output.
// Internal to inference/cuda/.
#pragma once

#include <cuda_fp16.h>

#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

// .ca: through L1, where re-read input pixels and every CTA's weights hit (.cg sent all of that
// to L2).
__device__ __forceinline__ void cp_async16(void* smem, const void* global, bool pred) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int bytes = pred ? 16 : 0;  // 0: fill the 16 bytes with zeros, read nothing
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(global), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const half* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

__device__ __forceinline__ void mma_16816(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <int kMF, int kNF>
__device__ __forceinline__ void zero_accumulators(float (&acc)[kMF][kNF][4]) {
#pragma unroll
  for (int i = 0; i < kMF; ++i)
#pragma unroll
    for (int j = 0; j < kNF; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
}

// One k16 step of a warp's kMF x kNF fragments: a[mf] from ldmatrix_x4 over 16 rows; b[f] from
// ldmatrix_x4 over 16 output channels, registers 0-1 for the first n8 fragment, 2-3 the second.
template <int kMF, int kNF>
__device__ __forceinline__ void mma_warp_tile(float (&acc)[kMF][kNF][4], const unsigned (&a)[kMF][4], const unsigned (&b)[kNF / 2][4]) {
#pragma unroll
  for (int mf = 0; mf < kMF; ++mf)
#pragma unroll
    for (int nf = 0; nf < kNF; ++nf) mma_16816(acc[mf][nf], a[mf], b[nf / 2][(nf % 2) * 2], b[nf / 2][(nf % 2) * 2 + 1]);
}

// Offset of pixel m (numbered over images, rows, columns of h x w maps) in a view with strides
// (sn, sh, sw): one multiply when the pixels are evenly spaced (dense tensors and channel slices
// of them), else the divisions.
__device__ __forceinline__ long long pixel_offset(int m, int h, int w, long long sn, long long sh, long long sw) {
  if (sh == w * sw && sn == h * sh) return m * sw;
  const int x = m % w, t = m / w;
  return (t / h) * sn + (t % h) * sh + x * sw;
}

// Where one output pixel (a GEMM row) goes: its offsets in y and in the residual (elements).
struct OutputPixel {
  bool valid;
  long long y, residual;
  long long up = 0;  // the top-left of its 2x2 block in p.y_up: read by kUpsample epilogues only
};

// Output pixel m's 2x2 block in the nearest 2x upsampling of y (ConvIgemmParams::y_up, which the
// caller's kUpsample epilogue writes).
__device__ __forceinline__ long long upsampled_offset(int m, const ConvIgemmParams& p) {
  const int x = m % p.out_w, t = m / p.out_w;
  return (t / p.out_h) * p.u_sn + 2LL * (t % p.out_h) * p.u_sh + 2LL * x * p.u_sw;
}

// Activation known at compile time: kActSilu and kActNone are YOLO's; any other runs activate_fast.
template <int kActivation>
__device__ __forceinline__ float activate_as(int activation, float v) {
  if constexpr (kActivation == kActSilu) return __fdividef(v, 1.0f + __expf(-v));
  if constexpr (kActivation == kActNone) return v;
  return activate_fast(activation, v);
}

template <int kActivation, bool kResidual, bool kUpsample, int kMF, int kNF, typename PixelAt>
__device__ __forceinline__ void store_accumulators_as(float (&acc)[kMF][kNF][4], const ConvIgemmParams& p, int row0, int col0,
                                                      int lane, PixelAt& pixel_at, const half* residual) {
  half* y = static_cast<half*>(p.y);
  float2 bias[kNF];
#pragma unroll
  for (int nf = 0; nf < kNF; ++nf) {
    const int k = col0 + nf * 8 + (lane % 4) * 2;
    bias[nf] = p.bias && k < p.k ? make_float2(p.bias[k], p.bias[k + 1]) : make_float2(0.0f, 0.0f);
  }
#pragma unroll
  for (int mf = 0; mf < kMF; ++mf)
#pragma unroll
    for (int half_row = 0; half_row < 2; ++half_row) {
      const OutputPixel pixel = pixel_at(row0 + mf * 16 + lane / 4 + half_row * 8);
      if (!pixel.valid) continue;
#pragma unroll
      for (int nf = 0; nf < kNF; ++nf) {
        const int k = col0 + nf * 8 + (lane % 4) * 2;
        if (k >= p.k) continue;
        float2 out = make_float2(activate_as<kActivation>(p.activation, acc[mf][nf][half_row * 2] + bias[nf].x),
                                 activate_as<kActivation>(p.activation, acc[mf][nf][half_row * 2 + 1] + bias[nf].y));
        if constexpr (kResidual) {
          const float2 rv = __half22float2(*reinterpret_cast<const __half2*>(residual + pixel.residual + k));
          out.x += rv.x, out.y += rv.y;
        }
        const __half2 stored = __float22half2_rn(out);
        *reinterpret_cast<__half2*>(y + pixel.y + k) = stored;
        if constexpr (kUpsample) {
          half* up = static_cast<half*>(p.y_up) + pixel.up + k;
          *reinterpret_cast<__half2*>(up) = stored;
          *reinterpret_cast<__half2*>(up + p.u_sw) = stored;
          *reinterpret_cast<__half2*>(up + p.u_sh) = stored;
          *reinterpret_cast<__half2*>(up + p.u_sh + p.u_sw) = stored;
        }
      }
    }
}

// The epilogue of a warp's kMF x kNF fragments: accumulator (mf, nf) elements 2h and 2h+1 belong
// to tile row row0 + mf*16 + lane/4 + 8h and channels col0 + nf*8 + 2*(lane%4) and the next one.
// Adds the bias, applies the activation, adds the residual and stores channel pairs as half2
// (K is even, so a pair is whole or absent). pixel_at(row) locates a tile row; its residual offset
// is from `residual`: p.residual in global memory, or a copy of the tile's residual that the
// kernel staged in shared memory ahead of time (so the epilogue does not wait on global loads;
// the pixel's offset then includes -col0's tile origin as needed). The activation and the residual
// are dispatched once, not per element: a per-element switch made the epilogue several times
// longer than the main loop of a 3x3 layer with 64 channels (SASS: 129 branches). kUpsample (the
// copy into p.y_up) is a template argument, so kernels that never write one carry no trace of it:
// as a runtime test it made implicit-GEMM layers 3-10% slower at batch 32 (H200, 2026-12-03_s7b
// logs), and as a runtime choice among compiled variants, batch 32 still ran 2% behind the tree
// without it (s8 logs).
template <bool kUpsample = false, int kMF, int kNF, typename PixelAt>
__device__ __forceinline__ void store_accumulators(float (&acc)[kMF][kNF][4], const ConvIgemmParams& p, int row0, int col0,
                                                   int lane, PixelAt&& pixel_at, const half* staged_residual = nullptr) {
  const half* r = staged_residual ? staged_residual : static_cast<const half*>(p.residual);
  const bool residual = p.residual != nullptr;
  if constexpr (kUpsample) {  // YOLO's upsampled maps come from SiLU convolutions without a residual
    if (p.activation == kActSilu && !residual) return store_accumulators_as<kActSilu, false, true>(acc, p, row0, col0, lane, pixel_at, r);
    if (residual) return store_accumulators_as<-1, true, true>(acc, p, row0, col0, lane, pixel_at, r);
    return store_accumulators_as<-1, false, true>(acc, p, row0, col0, lane, pixel_at, r);
  } else {
    if (p.activation == kActSilu) {
      if (residual) return store_accumulators_as<kActSilu, true, false>(acc, p, row0, col0, lane, pixel_at, r);
      return store_accumulators_as<kActSilu, false, false>(acc, p, row0, col0, lane, pixel_at, r);
    }
    if (p.activation == kActNone && !residual) return store_accumulators_as<kActNone, false, false>(acc, p, row0, col0, lane, pixel_at, r);
    if (residual) return store_accumulators_as<-1, true, false>(acc, p, row0, col0, lane, pixel_at, r);
    store_accumulators_as<-1, false, false>(acc, p, row0, col0, lane, pixel_at, r);
  }
}

}  // namespace detstream::inference::cuda
