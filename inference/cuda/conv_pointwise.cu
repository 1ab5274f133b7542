// Pointwise (1x1, stride 1, no padding) convolution as a persistent GEMM: each CTA keeps one
// column block of BN output channels and walks the output pixels tile by tile (BM rows each) in
// one cp.async pipeline over (tile, depth chunk) steps, so the next tile's loads are in flight
// while the current tile is multiplied and stored. The implicit GEMM (conv_igemm.cu) launches one
// short CTA per tile, which waits for its first load and drains its pipeline each time: YOLO's 1x1
// layers ran at about half their byte floor at batch 32. Pixels must be evenly spaced in x, y and
// the residual (dense tensors and channel slices of them); the epilogue is the shared one.
#include <algorithm>
#include <array>
#include <utility>

#include "inference/cuda/conv_mma.cuh"

namespace detstream::inference::cuda {

namespace {

struct PointwiseConfig {
  int m, n, warp_m, warp_n, bk, stages;
  const char* name;
};
constexpr PointwiseConfig kPointwise[kConvPointwiseCount] = {
    {128, 64, 64, 32, 32, 4, "pw128x64"}, {128, 32, 32, 32, 32, 4, "pw128x32"}, {128, 16, 32, 16, 32, 4, "pw128x16"},
    {64, 64, 32, 32, 32, 4, "pw64x64"},   {128, 64, 64, 32, 16, 6, "pw128x64k16"}, {128, 32, 32, 32, 16, 6, "pw128x32k16"},
};

constexpr int kThreads = 128;
__host__ __device__ constexpr int lds(int bk) { return bk + 8; }  // 16 bytes of pad: conflict-free ldmatrix

template <int BM, int BN, int WM, int WN, int BK, int STAGES>
__global__ void __launch_bounds__(kThreads) conv_pointwise_kernel(ConvIgemmParams p, int tiles) {
  static_assert((BM / WM) * (BN / WN) == kThreads / 32, "four warps per CTA");
  constexpr int kVectors = BK / 8, kLds = lds(BK);
  constexpr int kMF = WM / 16, kNF = WN / 8;
  constexpr int kStage = (BM + BN) * kLds;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  half* stages = reinterpret_cast<half*>(shared_bytes);

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warp_m = warp / (BN / WN), warp_n = warp % (BN / WN);
  const int m_total = p.n * p.out_h * p.out_w;
  const int chunks = p.c / BK;
  const int n0 = blockIdx.y * BN;
  // This CTA's tiles are blockIdx.x, + gridDim.x, ...; step s is chunk s % chunks of its tile s / chunks.
  const int my_tiles = blockIdx.x < tiles ? (tiles - blockIdx.x + gridDim.x - 1) / gridDim.x : 0;
  const int steps = my_tiles * chunks;
  const half* x = static_cast<const half*>(p.x);
  const half* w = static_cast<const half*>(p.w);
  wait_for_producers();
  release_dependents();

  auto load_step = [&](int step) {
    half* as = stages + (step % STAGES) * kStage;
    half* bs = as + BM * kLds;
    const int tile = blockIdx.x + (step / chunks) * gridDim.x, c0 = (step % chunks) * BK;
#pragma unroll
    for (int v = tid; v < BM * kVectors; v += kThreads) {
      const int row = v / kVectors, part = v % kVectors, m = tile * BM + row;
      const bool pred = m < m_total;
      cp_async16(as + row * kLds + part * 8, pred ? x + static_cast<long long>(m) * p.x_sw + c0 + part * 8 : x, pred);
    }
#pragma unroll
    for (int v = tid; v < BN * kVectors; v += kThreads) {
      const int row = v / kVectors, part = v % kVectors, k = n0 + row;
      const bool pred = k < p.k;
      cp_async16(bs + row * kLds + part * 8, pred ? w + static_cast<long long>(k) * p.c + c0 + part * 8 : w, pred);
    }
  };

  float acc[kMF][kNF][4];
  auto clear = [&] {
#pragma unroll
    for (int i = 0; i < kMF; ++i)
#pragma unroll
      for (int j = 0; j < kNF; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
  };
  clear();
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < steps) load_step(s);
    cp_async_commit();
  }
  const int a_row = warp_m * WM + lane % 16, a_col = (lane / 16) * 8;
  const int b_row = warp_n * WN + (lane / 16) * 8 + lane % 8, b_col = ((lane / 8) % 2) * 8;
  for (int step = 0; step < steps; ++step) {
    cp_async_wait<STAGES - 2>();
    // Also orders the reuse below: the stage loaded next was multiplied in the previous step.
    __syncthreads();
    if (step + STAGES - 1 < steps) load_step(step + STAGES - 1);
    cp_async_commit();
    const half* as = stages + (step % STAGES) * kStage;
    const half* bs = as + BM * kLds;
#pragma unroll
    for (int ks = 0; ks < BK; ks += 16) {
      unsigned a[kMF][4], b[kNF / 2][4];
#pragma unroll
      for (int f = 0; f < kMF; ++f) ldmatrix_x4(a[f], as + (a_row + f * 16) * kLds + ks + a_col);
#pragma unroll
      for (int f = 0; f < kNF / 2; ++f) ldmatrix_x4(b[f], bs + (b_row + f * 16) * kLds + ks + b_col);
#pragma unroll
      for (int mf = 0; mf < kMF; ++mf)
#pragma unroll
        for (int nf = 0; nf < kNF; ++nf) mma_16816(acc[mf][nf], a[mf], b[nf / 2][(nf % 2) * 2], b[nf / 2][(nf % 2) * 2 + 1]);
    }
    if (step % chunks == chunks - 1) {  // the tile's depth is done: store it while later loads fly
      const int m0 = (blockIdx.x + (step / chunks) * gridDim.x) * BM;
      store_accumulators(acc, p, warp_m * WM, n0 + warp_n * WN, lane, [&](int row) {
        const int m = m0 + row;
        return OutputPixel{m < m_total, static_cast<long long>(m) * p.y_sw, static_cast<long long>(m) * p.r_sw};
      });
      clear();
    }
  }
  cp_async_wait<0>();
}

template <int BM, int BN, int WM, int WN, int BK, int STAGES>
void launch(const ConvIgemmParams& p, cudaStream_t stream) {
  constexpr std::size_t kShared = static_cast<std::size_t>(STAGES) * (BM + BN) * lds(BK) * sizeof(half);
  auto* kernel = conv_pointwise_kernel<BM, BN, WM, WN, BK, STAGES>;
  // Persistent grid: as many CTAs per column block as fit on the GPU at once (asked once).
  static const int resident = [kernel] {
    DETSTREAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kShared)));
    int device = 0, sms = 0, per_sm = 0;
    DETSTREAM_CUDA_CHECK(cudaGetDevice(&device));
    DETSTREAM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    DETSTREAM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, kShared));
    return std::max(1, sms * per_sm);
  }();
  const long long m = static_cast<long long>(p.n) * p.out_h * p.out_w;
  const int tiles = static_cast<int>((m + BM - 1) / BM), column_blocks = (p.k + BN - 1) / BN;
  const int per_column = std::max(1, std::min(tiles, resident / column_blocks));
  launch_dependent(kernel, dim3(static_cast<unsigned>(per_column), static_cast<unsigned>(column_blocks)), kThreads, kShared,
                   stream, p, tiles);
}

template <int T>
void launch_variant(const ConvIgemmParams& p, cudaStream_t stream) {
  constexpr PointwiseConfig c = kPointwise[T];
  launch<c.m, c.n, c.warp_m, c.warp_n, c.bk, c.stages>(p, stream);
}

template <int... T>
constexpr std::array<void (*)(const ConvIgemmParams&, cudaStream_t), sizeof...(T)> variant_launchers(std::integer_sequence<int, T...>) {
  return {&launch_variant<T>...};
}
constexpr auto kLaunchers = variant_launchers(std::make_integer_sequence<int, kConvPointwiseCount>{});

bool evenly_spaced(const ConvIgemmParams& p, long long sn, long long sh, long long sw) {
  return sh == p.out_w * sw && sn == p.out_h * sh;
}

}  // namespace

const char* conv_pointwise_name(int variant) {
  return variant >= 0 && variant < kConvPointwiseCount ? kPointwise[variant].name : "?";
}

bool conv_pointwise_supported(const ConvIgemmParams& p, int variant) {
  if (variant < 0 || variant >= kConvPointwiseCount) return false;
  return p.r == 1 && p.s == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0 && p.out_h == p.h &&
         p.out_w == p.w_in && p.c % kPointwise[variant].bk == 0 && evenly_spaced(p, p.x_sn, p.x_sh, p.x_sw) &&
         evenly_spaced(p, p.y_sn, p.y_sh, p.y_sw) && evenly_spaced(p, p.r_sn, p.r_sh, p.r_sw);  // no residual: all 0
}

void launch_conv_pointwise(const ConvIgemmParams& params, int variant, cudaStream_t stream) {
  if (!conv_pointwise_supported(params, variant))
    throw CudaError(std::string("conv_pointwise: variant ") + conv_pointwise_name(variant) + " does not apply");
  kLaunchers[variant](params, stream);
}

}  // namespace detstream::inference::cuda
