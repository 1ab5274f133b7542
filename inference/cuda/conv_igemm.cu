// Implicit-GEMM convolution with WMMA (fp16 in, fp32 accumulate): GEMM rows are output pixels,
// columns output channels, depth R*S*C. Tiles of BM x BN x 32 move global -> shared memory with
// cp.async in a three-stage pipeline (two tiles in flight while one is multiplied; zero-filled
// where the window leaves the image); each warp owns a 32 x 32 block of accumulators. With
// split-K, blockIdx.z picks a slice of the depth and the last CTA of a tile reduces the others'
// fp32 partials (serial split-K, one launch). The epilogue adds the bias, applies the activation,
// adds the residual and stores 8 channels per 16-byte write, at any pixel stride.
#include <mma.h>

#include "inference/cuda/cuda_check.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

using namespace nvcuda;

constexpr int kBK = 32;
constexpr int kStages = 3;
constexpr int kLds = kBK + 8;  // halves per shared row; the pad spreads rows over banks

__device__ __forceinline__ void cp_async16(void* smem, const void* global, bool pred) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int bytes = pred ? 16 : 0;  // 0: fill the 16 bytes with zeros, read nothing
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(global), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

template <int BM, int BN>
__global__ void __launch_bounds__(BM * BN / 32) conv_igemm_kernel(ConvIgemmParams p) {
  constexpr int kThreads = BM * BN / 32;
  constexpr int kWarpsN = BN / 32;
  constexpr int kStage = (BM + BN) * kLds;  // halves
  constexpr int kPipeBytes = kStages * kStage * 2;
  constexpr int kLdc = BN + 4;
  constexpr int kEpilogueBytes = BM * kLdc * 4;
  constexpr int kSmem = kPipeBytes > kEpilogueBytes ? kPipeBytes : kEpilogueBytes;
  constexpr int kAIters = BM * 4 / kThreads;  // 16-byte vectors per thread per tile
  constexpr int kBIters = BN * 4 / kThreads;
  __shared__ __align__(128) unsigned char smem[kSmem];
  half* stages = reinterpret_cast<half*>(smem);

  const int tid = threadIdx.x, warp = tid / 32;
  const int warp_m = warp / kWarpsN, warp_n = warp % kWarpsN;
  const int m_total = p.n * p.out_h * p.out_w;
  const int kgemm = p.r * p.s * p.c;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const half* x = static_cast<const half*>(p.x);
  const half* w = static_cast<const half*>(p.w);

  // The output pixels whose input rows this thread loads, fixed over the whole depth.
  long long a_base[kAIters];
  int a_ih[kAIters], a_iw[kAIters];
  bool a_valid[kAIters];
#pragma unroll
  for (int i = 0; i < kAIters; ++i) {
    const int m = m0 + (tid + i * kThreads) / 4;
    a_valid[i] = m < m_total;
    const int mm = a_valid[i] ? m : 0;
    const int ow = mm % p.out_w, t = mm / p.out_w, oh = t % p.out_h, n = t / p.out_h;
    a_ih[i] = oh * p.stride_h - p.pad_h;
    a_iw[i] = ow * p.stride_w - p.pad_w;
    a_base[i] = n * p.x_sn;
  }
  // Everything above is index arithmetic on parameters; it overlaps the producer's tail.
  wait_for_producers();
  release_dependents();

  auto load_tile = [&](int stage, int kt) {
    half* as = stages + stage * kStage;
    half* bs = as + BM * kLds;
#pragma unroll
    for (int i = 0; i < kAIters; ++i) {
      const int v = tid + i * kThreads, row = v / 4, kk = kt * kBK + (v % 4) * 8;
      bool pred = a_valid[i] && kk < kgemm;
      const half* src = x;
      if (pred) {
        const int rs = kk / p.c, c = kk - rs * p.c, r = rs / p.s, s = rs - r * p.s;
        const int ih = a_ih[i] + r * p.dilation_h, iw = a_iw[i] + s * p.dilation_w;
        pred = ih >= 0 && ih < p.h && iw >= 0 && iw < p.w_in;
        if (pred) src = x + a_base[i] + ih * p.x_sh + iw * p.x_sw + c;
      }
      cp_async16(as + row * kLds + (v % 4) * 8, src, pred);
    }
#pragma unroll
    for (int i = 0; i < kBIters; ++i) {
      const int v = tid + i * kThreads, row = v / 4, kk = kt * kBK + (v % 4) * 8, k = n0 + row;
      const bool pred = k < p.k && kk < kgemm;
      cp_async16(bs + row * kLds + (v % 4) * 8, pred ? w + static_cast<long long>(k) * kgemm + kk : w, pred);
    }
  };

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  // This CTA's slice of the depth (the host makes every slice non-empty).
  const int k_tiles = (kgemm + kBK - 1) / kBK;
  const int kt_begin = blockIdx.z * p.k_tiles_per_split;
  const int kt_count = min(k_tiles, kt_begin + p.k_tiles_per_split) - kt_begin;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kt_count) load_tile(s, kt_begin + s);
    cp_async_commit();
  }
  for (int i = 0; i < kt_count; ++i) {
    cp_async_wait<kStages - 2>();
    // Also orders the reuse below: stage (i + 2) % 3 was multiplied in the previous iteration.
    __syncthreads();
    if (i + kStages - 1 < kt_count) load_tile((i + kStages - 1) % kStages, kt_begin + i + kStages - 1);
    cp_async_commit();
    const half* as = stages + (i % kStages) * kStage;
    const half* bs = as + BM * kLds;
#pragma unroll
    for (int ks = 0; ks < kBK; ks += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> b[2];
#pragma unroll
      for (int i2 = 0; i2 < 2; ++i2) wmma::load_matrix_sync(a[i2], as + (warp_m * 32 + i2 * 16) * kLds + ks, kLds);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], bs + (warp_n * 32 + j * 16) * kLds + ks, kLds);
#pragma unroll
      for (int i2 = 0; i2 < 2; ++i2)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i2][j], a[i2], b[j], acc[i2][j]);
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // the pipeline's shared memory becomes the epilogue's

  float* cs = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(cs + (warp_m * 32 + i * 16) * kLdc + warp_n * 32 + j * 16, acc[i][j], kLdc, wmma::mem_row_major);
    }
  __syncthreads();

  const int tile = blockIdx.y * gridDim.x + blockIdx.x;
  if (p.splits > 1) {
    // Publish this slice's partial; the last CTA of the tile to arrive finishes it.
    float* mine = p.partials + (static_cast<long long>(tile) * p.splits + blockIdx.z) * (BM * BN);
    for (int v = tid; v < BM * BN / 4; v += kThreads) {
      const int row = v / (BN / 4), col = (v % (BN / 4)) * 4;
      __stcg(reinterpret_cast<float4*>(mine + row * BN + col), *reinterpret_cast<const float4*>(cs + row * kLdc + col));
    }
    __threadfence();
    __syncthreads();
    __shared__ unsigned arrived;
    if (tid == 0) arrived = atomicAdd(p.tile_counters + tile, 1u);
    __syncthreads();
    if (arrived != static_cast<unsigned>(p.splits - 1)) return;
    __threadfence();  // the other slices' partials are visible from here on
    if (tid == 0) p.tile_counters[tile] = 0;  // ready for the next launch (graph replays)
  }

  half* y = static_cast<half*>(p.y);
  const half* residual = static_cast<const half*>(p.residual);
  for (int v = tid; v < BM * BN / 8; v += kThreads) {
    const int row = v / (BN / 8), col = (v % (BN / 8)) * 8;
    const int m = m0 + row, k = n0 + col;
    if (m >= m_total || k >= p.k) continue;
    float sum[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) sum[j] = p.splits > 1 ? 0.0f : cs[row * kLdc + col + j];
    // Slices are summed in a fixed order, whichever CTA arrives last: replays and contexts give
    // bit-identical results.
    for (int z = 0; p.splits > 1 && z < p.splits; ++z) {
      const float* other = p.partials + (static_cast<long long>(tile) * p.splits + z) * (BM * BN) + row * BN + col;
      const float4 lo = __ldcg(reinterpret_cast<const float4*>(other));
      const float4 hi = __ldcg(reinterpret_cast<const float4*>(other + 4));
      sum[0] += lo.x, sum[1] += lo.y, sum[2] += lo.z, sum[3] += lo.w;
      sum[4] += hi.x, sum[5] += hi.y, sum[6] += hi.z, sum[7] += hi.w;
    }
    const int ow = m % p.out_w, t = m / p.out_w, oh = t % p.out_h, n = t / p.out_h;
    __align__(16) half res[8];
    if (residual) {
      *reinterpret_cast<uint4*>(res) = *reinterpret_cast<const uint4*>(residual + n * p.r_sn + oh * p.r_sh + ow * p.r_sw + k);
    }
    __align__(16) half out[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const float b = p.bias ? p.bias[k + j] : 0.0f;
      const float v = activate(p.activation, sum[j] + b);
      out[j] = __float2half_rn(residual ? v + __half2float(res[j]) : v);
    }
    *reinterpret_cast<uint4*>(y + n * p.y_sn + oh * p.y_sh + ow * p.y_sw + k) = *reinterpret_cast<const uint4*>(out);
  }
}

constexpr int tile_m(int tile) {
  return tile == kTile128x64 || tile == kTile128x32 ? 128 : tile <= kTile64x32 ? 64 : 32;
}
constexpr int tile_n(int tile) { return tile == kTile64x32 || tile == kTile32x32 || tile == kTile128x32 ? 32 : 64; }

int depth_tiles(const ConvIgemmParams& p) { return (p.r * p.s * p.c + kBK - 1) / kBK; }

template <int BM, int BN>
void launch(const ConvIgemmParams& p, cudaStream_t stream) {
  const long long m = static_cast<long long>(p.n) * p.out_h * p.out_w;
  const dim3 grid(static_cast<unsigned>((m + BM - 1) / BM), static_cast<unsigned>((p.k + BN - 1) / BN),
                  static_cast<unsigned>(p.splits));
  launch_dependent(conv_igemm_kernel<BM, BN>, grid, BM * BN / 32, 0, stream, p);
}

}  // namespace

const char* conv_tile_name(int tile) {
  static const char* names[] = {"128x64", "64x64", "64x32", "32x64", "32x32", "128x32"};
  return tile >= 0 && tile < kConvTileCount ? names[tile] : "?";
}

int conv_igemm_effective_splits(const ConvIgemmParams& params, int requested) {
  const int k_tiles = depth_tiles(params);
  const int per_split = (k_tiles + requested - 1) / (requested < 1 ? 1 : requested);
  return (k_tiles + per_split - 1) / per_split;
}

long long conv_igemm_output_tiles(const ConvIgemmParams& params, int tile) {
  const long long m = static_cast<long long>(params.n) * params.out_h * params.out_w;
  return ((m + tile_m(tile) - 1) / tile_m(tile)) * ((params.k + tile_n(tile) - 1) / tile_n(tile));
}

std::size_t conv_igemm_partials_bytes(const ConvIgemmParams& params, int tile, int splits) {
  const int effective = conv_igemm_effective_splits(params, splits);
  if (effective <= 1) return 0;
  return static_cast<std::size_t>(conv_igemm_output_tiles(params, tile)) * effective * tile_m(tile) * tile_n(tile) * sizeof(float);
}

void launch_conv_igemm(const ConvIgemmParams& params, int tile, int splits, cudaStream_t stream) {
  ConvIgemmParams p = params;
  p.splits = conv_igemm_effective_splits(params, splits);
  const int k_tiles = depth_tiles(params);
  p.k_tiles_per_split = (k_tiles + p.splits - 1) / p.splits;
  switch (tile) {
    case kTile128x64: launch<128, 64>(p, stream); break;
    case kTile64x64: launch<64, 64>(p, stream); break;
    case kTile64x32: launch<64, 32>(p, stream); break;
    case kTile32x64: launch<32, 64>(p, stream); break;
    case kTile128x32: launch<128, 32>(p, stream); break;
    default: launch<32, 32>(p, stream); break;
  }
}

}  // namespace detstream::inference::cuda
