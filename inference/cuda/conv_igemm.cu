// Implicit-GEMM convolution on tensor cores (mma.sync m16n8k16: fp16 operands, fp32
// accumulation): GEMM rows are output pixels, columns output channels, depth R*S*C. Tiles of
// BM x BN x BK (32, or 64 for deep layers) move global -> shared memory with cp.async in a
// pipeline of STAGES (STAGES - 1 tiles in flight while one is multiplied; zero-filled where the
// window leaves the image); ldmatrix feeds the warps' fragments. Shared memory is sized for the
// stages a launch can use, so single-tile 1x1 convolutions keep more CTAs resident. The kernel is instruction-bound at YOLO's channel counts (ncu: 70% issue
// utilisation, 12% DRAM with the previous WMMA version), so the depth walk carries each thread's
// (r, s, c) forward instead of dividing per tile, and the epilogue works on the accumulator
// registers directly (no shared-memory round trip). With split-K, blockIdx.z picks a slice of the
// depth; up to 8 slices are one thread-block cluster that sums its fp32 partials through
// distributed shared memory, deeper splits leave them in global memory for the tile's last CTA
// (one launch either way, slices summed in slice order: deterministic). The epilogue adds the
// bias, applies the activation, adds the residual and stores channel pairs, at any pixel stride.
#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include <cooperative_groups.h>

#include "inference/cuda/cuda_check.h"
#include "inference/cuda/conv_mma.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kThreads = 128;  // four warps
// Shared rows are BK halves, unpadded; the 16-byte chunks of a row are XOR-swizzled so that both
// the 8 rows of an ldmatrix and the 8 chunks 8 consecutive threads copy land in 8 distinct 16-byte
// bank groups (ncu: the 8-half pad it replaces still cost 33% extra wavefronts on the copies).
// A 32-deep row is half a 128-byte line, so row pairs share a swizzle. Rows 16 apart share it too,
// so every fragment and copy row of a thread XORs its chunk with one value.
template <int BK>
__host__ __device__ constexpr int swizzle_of(int row) {
  static_assert(BK == 32 || BK == 64, "two or one rows per 128-byte line");
  return BK == 64 ? row % 8 : (row / 2) % 4;
}

// Where in the depth a thread's 16-byte vector is: the window position (r, s) and the channel.
// Advanced tile by tile without division; r == R means past the end.
struct DepthCursor {
  int r, s, c, kk;
  __device__ void start(int k, const ConvIgemmParams& p) {
    kk = k;
    const int rs = k / p.c;
    c = k - rs * p.c;
    r = rs / p.s;
    s = rs - r * p.s;
  }
  __device__ void advance(const ConvIgemmParams& p, int bk) {
    kk += bk;
    c += bk;
    while (c >= p.c) {
      c -= p.c;
      if (++s == p.s) s = 0, ++r;
    }
  }
};

// CTAs an SM should hold at once, which caps registers: the shallow and the small tiles are
// memory- or latency-bound and want bytes in flight (6 CTAs: 80 registers, no spills); the 128x64
// accumulators need their registers (capping them spilled 400 bytes).
__host__ __device__ constexpr int min_resident_ctas(int bm, int bn, int bk) {
  return bm * bn <= 32 * 32 ? 6 : bk > 32 ? 2 : bm * bn > 64 * 64 ? 1 : bn == 64 && bm == 64 ? 5 : 6;
}

// kUp: the layer also writes a nearest 2x upsampling of its output (ConvIgemmParams::y_up).
template <int BM, int BN, int WM, int WN, int BK, int STAGES, bool kUp>
__global__ void __launch_bounds__(kThreads, min_resident_ctas(BM, BN, BK)) conv_igemm_kernel(ConvIgemmParams p) {
  static_assert((BM / WM) * (BN / WN) == kThreads / 32, "four warps per CTA");
  constexpr int kVectors = BK / 8;                  // 16-byte vectors per tile row
  constexpr int kRowsPerPass = kThreads / kVectors;  // A rows the CTA loads per pass
  static_assert(WM % 16 == 0 && WN % 16 == 0 && BM % kRowsPerPass == 0, "whole fragments; every thread loads A rows");
  constexpr int kMF = WM / 16, kNF = WN / 8;  // m16 and n8 fragments per warp
  constexpr int kStage = (BM + BN) * BK;     // halves
  constexpr int kARows = BM / kRowsPerPass;  // A rows a thread loads per tile
  constexpr int kBVectors = BN * kVectors;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  half* stages = reinterpret_cast<half*>(shared_bytes);  // min(STAGES, k-tiles) stages (launch_conv_igemm)

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warp_m = warp / (BN / WN), warp_n = warp % (BN / WN);
  const int m_total = p.n * p.out_h * p.out_w;
  const int kgemm = p.r * p.s * p.c;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const half* x = static_cast<const half*>(p.x);
  const half* w = static_cast<const half*>(p.w);

  // The output pixels whose input rows this thread loads, fixed over the whole depth; the
  // thread's column of 8 depth values (tid % kVectors) is fixed too.
  // A 1x1, stride-1, unpadded layer over evenly spaced pixels reads output pixel m's input at
  // m * x_sw, always inside the image: no divisions (ncu, a 1x1 layer at batch 32: 1,164
  // instructions per warp for one k-tile, a quarter of them these divisions).
  const bool pointwise = p.r == 1 && p.s == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0 &&
                         p.h == p.out_h && p.w_in == p.out_w && p.x_sh == p.out_w * p.x_sw && p.x_sn == p.out_h * p.x_sh;
  long long a_base[kARows];
  int a_ih[kARows], a_iw[kARows];
#pragma unroll
  for (int i = 0; i < kARows; ++i) {
    const int m = m0 + tid / kVectors + i * kRowsPerPass;
    const int mm = m < m_total ? m : 0;
    if (pointwise) {
      a_ih[i] = m < m_total ? 0 : -0x40000000;  // invalid rows never pass the bounds test
      a_iw[i] = 0;
      a_base[i] = mm * p.x_sw;
      continue;
    }
    const int ow = mm % p.out_w, t = mm / p.out_w, oh = t % p.out_h, n = t / p.out_h;
    a_ih[i] = m < m_total ? oh * p.stride_h - p.pad_h : -0x40000000;
    a_iw[i] = ow * p.stride_w - p.pad_w;
    a_base[i] = n * p.x_sn + static_cast<long long>(a_ih[i]) * p.x_sh + static_cast<long long>(a_iw[i]) * p.x_sw;
  }
  const int k_tiles = (kgemm + BK - 1) / BK;
  const int kt_begin = blockIdx.z * p.k_tiles_per_split;
  const int kt_count = min(k_tiles, kt_begin + p.k_tiles_per_split) - kt_begin;
  DepthCursor cursor;
  cursor.start(kt_begin * BK + (tid % kVectors) * 8, p);

  // Where this thread's 16-byte copies land: row tid / kVectors (+ multiples of 16), its chunk.
  static_assert(kRowsPerPass % 16 == 0 && kThreads / kVectors % 16 == 0, "copy rows 16 apart share a swizzle");
  const int a_copy = (tid / kVectors) * BK + 8 * ((tid % kVectors) ^ swizzle_of<BK>(tid / kVectors));
  // The weights of the stage's k-tile, from depth kk (this thread's column).
  auto load_weights = [&](int stage, int kk) {
    half* bs = stages + stage * kStage + BM * BK;
#pragma unroll
    for (int v = tid; v < kBVectors; v += kThreads) {
      const int row = v / kVectors, k = n0 + row;  // v % kVectors == tid % kVectors: the cursor's column
      const bool pred = k < p.k && kk < kgemm;
      cp_async16(bs + a_copy + (v - tid) / kVectors * BK, pred ? w + static_cast<long long>(k) * kgemm + kk : w, pred);
    }
  };
  // The first stages' weights are constants: their copies overlap the producer's tail (with
  // programmatic launch), as does the index arithmetic above; they join the first commit group.
  // Timed alone a deep layer's first wait grows (batch 32, 128x64x64: 26 -> 31 us), but in the
  // graph the copies overlap: copying only the first stage's made the whole network slower
  // (H200, b1 0.318 -> 0.331 ms, b32 2.185 -> 2.220 ms; s5prefetch and s5firststage logs).
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s)
    if (s < kt_count) load_weights(s, cursor.kk + s * BK);
  wait_for_producers();
  release_dependents();

  auto load_inputs = [&](int stage) {
    half* as = stages + stage * kStage;
    const int dh = cursor.r * p.dilation_h, dw = cursor.s * p.dilation_w;
    const bool in_depth = cursor.r < p.r;
    const long long tap = dh * p.x_sh + dw * p.x_sw + cursor.c;
#pragma unroll
    for (int i = 0; i < kARows; ++i) {
      const bool pred = in_depth && static_cast<unsigned>(a_ih[i] + dh) < static_cast<unsigned>(p.h) &&
                        static_cast<unsigned>(a_iw[i] + dw) < static_cast<unsigned>(p.w_in);
      cp_async16(as + a_copy + i * kRowsPerPass * BK, pred ? x + a_base[i] + tap : x, pred);
    }
    cursor.advance(p, BK);
  };
  auto load_tile = [&](int stage) {
    load_weights(stage, cursor.kk);
    load_inputs(stage);
  };

  float acc[kMF][kNF][4];
  zero_accumulators(acc);

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < kt_count) load_inputs(s);
    cp_async_commit();
  }
  // ldmatrix addresses: A rows (lane % 16), columns 8 * (lane / 16); B rows (output channels)
  // 8 * (lane / 16) + lane % 8, columns 8 * ((lane / 8) % 2).
  // With the swizzle, depth ks of the fragment rows starts at row * BK + 8 * (chunk ^ ks / 8).
  const int a_row = warp_m * WM + lane % 16, a_chunk = (lane / 16) ^ swizzle_of<BK>(a_row);
  const int b_row = warp_n * WN + (lane / 16) * 8 + lane % 8, b_chunk = ((lane / 8) % 2) ^ swizzle_of<BK>(b_row);
  for (int i = 0; i < kt_count; ++i) {
    cp_async_wait<STAGES - 2>();
    // Also orders the reuse below: the stage loaded next was multiplied in the previous iteration.
    __syncthreads();
    if (i + STAGES - 1 < kt_count) load_tile((i + STAGES - 1) % STAGES);
    cp_async_commit();
    const half* as = stages + (i % STAGES) * kStage;
    const half* bs = as + BM * BK;
#pragma unroll
    for (int ks = 0; ks < BK; ks += 16) {
      unsigned a[kMF][4], b[kNF / 2][4];
#pragma unroll
      for (int f = 0; f < kMF; ++f) ldmatrix_x4(a[f], as + (a_row + f * 16) * BK + 8 * (a_chunk ^ (ks / 8)));
#pragma unroll
      for (int f = 0; f < kNF / 2; ++f) ldmatrix_x4(b[f], bs + (b_row + f * 16) * BK + 8 * (b_chunk ^ (ks / 8)));
      mma_warp_tile(acc, a, b);
    }
  }
  cp_async_wait<0>();

  // Accumulator (mf, nf) elements 2h and 2h+1 sit at row warp_m*WM + mf*16 + lane/4 + 8h, columns
  // warp_n*WN + nf*8 + 2*(lane%4) and the next one; visit(pair, row, col) sees each pair there.
  auto for_each_pair = [&](auto&& visit) {
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf)
#pragma unroll
      for (int nf = 0; nf < kNF; ++nf)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          visit(&acc[mf][nf][2 * h], warp_m * WM + mf * 16 + lane / 4 + h * 8, warp_n * WN + nf * 8 + (lane % 4) * 2);
        }
  };
  auto pixel_at = [&](int row) {
    const int m = m0 + row;
    if (m >= m_total) return OutputPixel{false, 0, 0};
    return OutputPixel{true, pixel_offset(m, p.out_h, p.out_w, p.y_sn, p.y_sh, p.y_sw),
                       p.residual ? pixel_offset(m, p.out_h, p.out_w, p.r_sn, p.r_sh, p.r_sw) : 0, kUp ? upsampled_offset(m, p) : 0};
  };
  const bool clustered = p.splits > 1 && p.cluster_reduce;
  bool storing = true;
  if (clustered) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    // The tile's slices are one cluster's CTAs: each leaves its partial in its own shared memory
    // and warp w's fragments are summed, from every slice in slice order, by the CTA of rank
    // w % splits, which stores them. No global scratch, counters or fences: at batch 1 the
    // global round trips were most of a split 20x20 layer's time.
    namespace cg = cooperative_groups;
    const cg::cluster_group cluster = cg::this_cluster();
    constexpr int kLd = BN + 8;  // floats: a half-warp's float2 rows land in distinct banks
    float* mine = reinterpret_cast<float*>(shared_bytes);
    __syncthreads();  // every warp is done reading the last stage this overwrites
    for_each_pair([&](float* pair, int row, int col) {
      *reinterpret_cast<float2*>(mine + row * kLd + col) = make_float2(pair[0], pair[1]);
    });
    cluster.sync();
    storing = warp % p.splits == static_cast<int>(cluster.block_rank());
    if (storing) {
      for_each_pair([&](float* pair, int row, int col) {
        float2 sum = make_float2(0.0f, 0.0f);
        for (int z = 0; z < p.splits; ++z) {
          const float2 part = *reinterpret_cast<const float2*>(cluster.map_shared_rank(mine, z) + row * kLd + col);
          sum.x += part.x, sum.y += part.y;
        }
        pair[0] = sum.x, pair[1] = sum.y;
      });
    }
    // Arrive once this CTA is done reading its peers; wait (below) before exiting, while they
    // may still read this one's partial.
    asm volatile("barrier.cluster.arrive.release.aligned;\n" ::: "memory");
#endif
  } else if (p.splits > 1) {
    // Publish this slice's partial; the last CTA of the tile to arrive finishes it.
    const int tile = blockIdx.y * gridDim.x + blockIdx.x;
    const float* tile_partials = p.partials + static_cast<long long>(tile) * p.splits * (BM * BN);
    float* mine = p.partials + (static_cast<long long>(tile) * p.splits + blockIdx.z) * (BM * BN);
    for_each_pair([&](float* pair, int row, int col) {
      __stcg(reinterpret_cast<float2*>(mine + row * BN + col), make_float2(pair[0], pair[1]));
    });
    __threadfence();
    __syncthreads();
    __shared__ unsigned arrived;
    if (tid == 0) arrived = atomicAdd(p.tile_counters + tile, 1u);
    __syncthreads();
    if (arrived != static_cast<unsigned>(p.splits - 1)) return;
    __threadfence();  // the other slices' partials are visible from here on
    if (tid == 0) p.tile_counters[tile] = 0;  // ready for the next launch (graph replays)
    // Slices are summed in a fixed order, whichever CTA arrives last: replays and contexts give
    // bit-identical results.
    for_each_pair([&](float* pair, int row, int col) {
      float2 sum = make_float2(0.0f, 0.0f);
      for (int z = 0; z < p.splits; ++z) {
        const float2 part = __ldcg(reinterpret_cast<const float2*>(tile_partials + z * (BM * BN) + row * BN + col));
        sum.x += part.x, sum.y += part.y;
      }
      pair[0] = sum.x, pair[1] = sum.y;
    });
  }

  if (storing) store_accumulators<kUp>(acc, p, warp_m * WM, n0 + warp_n * WN, lane, pixel_at);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (clustered) asm volatile("barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
#endif
}
// One row per ConvTile: the CTA tile, the warp tile, the depth of a k-tile and the pipeline.
struct TileConfig {
  int m, n, warp_m, warp_n, bk, stages;
  const char* name;
};
constexpr TileConfig kTiles[kConvTileCount] = {
    {128, 64, 64, 32, 32, 3, "128x64"},     {64, 64, 32, 32, 32, 3, "64x64"},       {64, 32, 32, 16, 32, 3, "64x32"},
    {32, 64, 32, 16, 32, 3, "32x64"},       {32, 32, 16, 16, 32, 3, "32x32"},       {128, 32, 32, 32, 32, 3, "128x32"},
    {128, 16, 32, 16, 32, 3, "128x16"},     {64, 16, 16, 16, 32, 3, "64x16"},       {128, 64, 64, 32, 64, 4, "128x64x64"},
    {64, 64, 32, 32, 64, 4, "64x64x64"},    {128, 32, 32, 32, 64, 4, "128x32x64"},  {64, 32, 32, 16, 64, 4, "64x32x64"},
    {64, 16, 16, 16, 64, 4, "64x16x64"},    {32, 32, 16, 16, 64, 4, "32x32x64"},
};

int depth_tiles(const ConvIgemmParams& p, int tile) { return (p.r * p.s * p.c + kTiles[tile].bk - 1) / kTiles[tile].bk; }

// Whether a launch's split-K slices sum in their cluster (kernels.h).
bool reduces_in_cluster(const ConvIgemmParams& p, int splits) { return splits > 1 && p.cluster_reduce && splits <= kMaxClusterSplits; }

template <int BM, int BN, int WM, int WN, int BK, int STAGES, bool kUp>
void launch(const ConvIgemmParams& p, cudaStream_t stream) {
  constexpr std::size_t kStageBytes = static_cast<std::size_t>(BM + BN) * BK * sizeof(half);
  constexpr std::size_t kPartialBytes = static_cast<std::size_t>(BM) * (BN + 8) * sizeof(float);  // the cluster's
  constexpr auto kernel = conv_igemm_kernel<BM, BN, WM, WN, BK, STAGES, kUp>;
  static const bool opted_in = allow_shared(kernel, std::max(STAGES * kStageBytes, kPartialBytes));
  (void)opted_in;
  const long long m = static_cast<long long>(p.n) * p.out_h * p.out_w;
  const dim3 grid(static_cast<unsigned>((m + BM - 1) / BM), static_cast<unsigned>((p.k + BN - 1) / BN),
                  static_cast<unsigned>(p.splits));
  std::size_t shared = std::min(STAGES, p.k_tiles_per_split) * kStageBytes;
  if (p.cluster_reduce) shared = std::max(shared, kPartialBytes);
  const dim3 cluster(1, 1, p.cluster_reduce ? static_cast<unsigned>(p.splits) : 1u);
  launch_dependent_in_clusters(kernel, grid, cluster, kThreads, shared, stream, p);
}

// Tile T's launcher, its template arguments read from kTiles: the table is the only place a
// tile's shape, depth and stages are written.
template <int T>
void launch_tile(const ConvIgemmParams& p, cudaStream_t stream) {
  constexpr TileConfig c = kTiles[T];
  if (p.y_up != nullptr) return launch<c.m, c.n, c.warp_m, c.warp_n, c.bk, c.stages, true>(p, stream);
  launch<c.m, c.n, c.warp_m, c.warp_n, c.bk, c.stages, false>(p, stream);
}

template <int... T>
constexpr std::array<void (*)(const ConvIgemmParams&, cudaStream_t), sizeof...(T)> tile_launchers(std::integer_sequence<int, T...>) {
  return {&launch_tile<T>...};
}
constexpr auto kLaunchers = tile_launchers(std::make_integer_sequence<int, kConvTileCount>{});

}  // namespace

const char* conv_tile_name(int tile) { return tile >= 0 && tile < kConvTileCount ? kTiles[tile].name : "?"; }

int conv_igemm_effective_splits(const ConvIgemmParams& params, int tile, int requested) {
  const int k_tiles = depth_tiles(params, tile);
  const int per_split = (k_tiles + requested - 1) / (requested < 1 ? 1 : requested);
  return (k_tiles + per_split - 1) / per_split;
}

long long conv_igemm_output_tiles(const ConvIgemmParams& params, int tile) {
  const long long m = static_cast<long long>(params.n) * params.out_h * params.out_w;
  const TileConfig& t = kTiles[tile];
  return ((m + t.m - 1) / t.m) * ((params.k + t.n - 1) / t.n);
}

std::size_t conv_igemm_partials_bytes(const ConvIgemmParams& params, int tile, int splits) {
  const int effective = conv_igemm_effective_splits(params, tile, splits);
  if (effective <= 1 || reduces_in_cluster(params, effective)) return 0;
  const TileConfig& t = kTiles[tile];
  return static_cast<std::size_t>(conv_igemm_output_tiles(params, tile)) * effective * t.m * t.n * sizeof(float);
}

void launch_conv_igemm(const ConvIgemmParams& params, int tile, int splits, cudaStream_t stream) {
  ConvIgemmParams p = params;
  p.splits = conv_igemm_effective_splits(params, tile, splits);
  const int k_tiles = depth_tiles(params, tile);
  p.k_tiles_per_split = (k_tiles + p.splits - 1) / p.splits;
  p.cluster_reduce = reduces_in_cluster(p, p.splits);
  if (p.splits > 1 && !p.cluster_reduce && (p.partials == nullptr || p.tile_counters == nullptr))
    throw CudaError("conv_igemm: " + std::to_string(p.splits) + "-way split-K over global memory needs partials and tile counters");
  kLaunchers[tile >= 0 && tile < kConvTileCount ? tile : kTile32x32](p, stream);
}

}  // namespace detstream::inference::cuda
