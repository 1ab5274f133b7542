// Shallow 1x1 convolutions (stride 1, C <= 128 input channels) as a streaming GEMM on tensor
// cores: each CTA keeps one BN-channel slice of the weights in shared memory and walks over
// 128-pixel tiles (blockIdx.x, + gridDim.x, ...; the grid is what the GPU holds at once), copying
// the next tiles' C-deep rows with cp.async while it multiplies this one and stores its result.
// The implicit GEMM (conv_igemm.cu) runs such a layer as one or two k-tiles per CTA: each CTA
// loads, waits, multiplies and stores with nothing of its own in flight, so at batch 32 on the
// H200 the C2f 1x1 layers took about twice their bytes (model.2's 32 -> 32 at 160x160: 48 us
// against ~24 us). The epilogue is the implicit GEMM's (conv_mma.cuh): bias, activation,
// residual, channel pairs at any pixel stride.
#include <algorithm>
#include <array>
#include <atomic>
#include <utility>

#include "inference/cuda/conv_mma.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kTileM = 128;   // pixels per tile
constexpr int kWarpM = 32;    // pixels per warp tile
constexpr int kMaxC = 128;
constexpr int kThreads = 256;  // kTileM / kWarpM x BN / WN warps

struct PointwiseConfig {
  int bn, warp_n, stages;
  const char* name;
};
constexpr PointwiseConfig kPointwise[kConvPointwiseCount] = {{32, 16, 3, "pointwise n32"}, {64, 32, 3, "pointwise n64"}};

template <int BN, int WN, int STAGES>
__global__ void __launch_bounds__(kThreads, 2) conv_pointwise_kernel(ConvIgemmParams p, int tiles) {
  static_assert((kTileM / kWarpM) * (BN / WN) * 32 == kThreads, "eight warps");
  constexpr int kMF = kWarpM / 16, kNF = WN / 8;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  const int ld = p.c + 8;  // halves per row: 8 rows of an ldmatrix hit 8 distinct bank groups
  half* weights = reinterpret_cast<half*>(shared_bytes);
  half* stages = weights + BN * ld;
  const int stage_halves = kTileM * ld, vectors = p.c / 8;
  const int pixels = p.n * p.h * p.w_in;
  const int n0 = blockIdx.y * BN;
  const int mine = (tiles - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) / static_cast<int>(gridDim.x);
  const half* x = static_cast<const half*>(p.x);

  auto load_tile = [&](half* dst, int j) {
    const int m0 = (static_cast<int>(blockIdx.x) + j * static_cast<int>(gridDim.x)) * kTileM;
    for (int v = threadIdx.x; v < kTileM * vectors; v += kThreads) {
      const int row = v / vectors, part = v % vectors, m = m0 + row;
      const bool pred = m < pixels;
      cp_async16(dst + row * ld + part * 8, pred ? x + pixel_offset(m, p.h, p.w_in, p.x_sn, p.x_sh, p.x_sw) + part * 8 : x, pred);
    }
  };
  {  // constants: in flight while the producer finishes
    const half* w = static_cast<const half*>(p.w);
    for (int v = threadIdx.x; v < BN * vectors; v += kThreads) {
      const int row = v / vectors, part = v % vectors, k = n0 + row;
      cp_async16(weights + row * ld + part * 8, k < p.k ? w + static_cast<long long>(k) * p.c + part * 8 : w, k < p.k);
    }
  }
  wait_for_producers();
  release_dependents();
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < mine) load_tile(stages + s * stage_halves, s);
    cp_async_commit();  // the weights ride in the first group
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_m = warp / (BN / WN), warp_n = warp % (BN / WN);
  const int a_row = warp_m * kWarpM + lane % 16, a_col = (lane / 16) * 8;
  const int b_row = warp_n * WN + (lane / 16) * 8 + lane % 8, b_col = ((lane / 8) % 2) * 8;
  float acc[kMF][kNF][4];
  for (int j = 0; j < mine; ++j) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();  // also: every warp is done with the stage the next load overwrites
    const int ahead = j + STAGES - 1;
    if (ahead < mine) load_tile(stages + (ahead % STAGES) * stage_halves, ahead);
    cp_async_commit();
    const half* a_tile = stages + (j % STAGES) * stage_halves;
    zero_accumulators(acc);
    for (int ks = 0; ks < p.c; ks += 16) {
      unsigned a[kMF][4], b[kNF / 2][4];
#pragma unroll
      for (int f = 0; f < kMF; ++f) ldmatrix_x4(a[f], a_tile + (a_row + f * 16) * ld + ks + a_col);
#pragma unroll
      for (int f = 0; f < kNF / 2; ++f) ldmatrix_x4(b[f], weights + (b_row + f * 16) * ld + ks + b_col);
      mma_warp_tile(acc, a, b);
    }
    const int m0 = (static_cast<int>(blockIdx.x) + j * static_cast<int>(gridDim.x)) * kTileM;
    auto pixel_at = [&](int row) {
      const int m = m0 + row;
      if (m >= pixels) return OutputPixel{false, 0, 0};
      return OutputPixel{true, pixel_offset(m, p.out_h, p.out_w, p.y_sn, p.y_sh, p.y_sw),
                         pixel_offset(m, p.out_h, p.out_w, p.r_sn, p.r_sh, p.r_sw), p.y_up ? upsampled_offset(m, p) : 0};
    };
    if (p.y_up != nullptr) {
      store_accumulators<true>(acc, p, warp_m * kWarpM, n0 + warp_n * WN, lane, pixel_at);
    } else {
      store_accumulators<false>(acc, p, warp_m * kWarpM, n0 + warp_n * WN, lane, pixel_at);
    }
  }
  cp_async_wait<0>();
}

std::size_t shared_bytes_for(const PointwiseConfig& c, int channels) {
  return static_cast<std::size_t>(c.bn + c.stages * kTileM) * (channels + 8) * sizeof(half);
}

template <int T>
void launch_variant(const ConvIgemmParams& p, cudaStream_t stream) {
  constexpr PointwiseConfig c = kPointwise[T];
  auto* kernel = conv_pointwise_kernel<c.bn, c.warp_n, c.stages>;
  static const bool opted_in = allow_shared(kernel, shared_bytes_for(c, kMaxC));
  (void)opted_in;
  const std::size_t shared = shared_bytes_for(c, p.c);
  const long long tiles = (static_cast<long long>(p.n) * p.out_h * p.out_w + kTileM - 1) / kTileM;
  const unsigned channel_tiles = static_cast<unsigned>((p.k + c.bn - 1) / c.bn);
  // Resident CTAs depend on the depth (shared memory per CTA): kept per depth, 16 to 128.
  static std::array<std::atomic<int>, kMaxC / 16 + 1> resident{};
  std::atomic<int>& known = resident[static_cast<std::size_t>(p.c / 16)];
  if (known.load(std::memory_order_relaxed) == 0) known.store(resident_ctas(kernel, kThreads, shared), std::memory_order_relaxed);
  const long long per_channel_tile = std::max<long long>(1, known.load(std::memory_order_relaxed) / channel_tiles);
  const dim3 grid(static_cast<unsigned>(std::min(tiles, per_channel_tile)), channel_tiles);
  launch_dependent(kernel, grid, kThreads, shared, stream, p, static_cast<int>(tiles));
}

template <int... T>
constexpr std::array<void (*)(const ConvIgemmParams&, cudaStream_t), sizeof...(T)> variant_launchers(std::integer_sequence<int, T...>) {
  return {&launch_variant<T>...};
}
constexpr auto kLaunchers = variant_launchers(std::make_integer_sequence<int, kConvPointwiseCount>{});

}  // namespace

const char* conv_pointwise_name(int variant) {
  return variant >= 0 && variant < kConvPointwiseCount ? kPointwise[variant].name : "?";
}

bool conv_pointwise_supported(const ConvIgemmParams& p, int variant) {
  if (variant < 0 || variant >= kConvPointwiseCount) return false;
  return p.r == 1 && p.s == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0 && p.c % 16 == 0 &&
         p.c <= kMaxC && p.out_h == p.h && p.out_w == p.w_in && p.splits <= 1 &&
         static_cast<long long>(p.n) * p.h * p.w_in + kTileM < (1LL << 31);
}

void launch_conv_pointwise(const ConvIgemmParams& params, int variant, cudaStream_t stream) {
  if (!conv_pointwise_supported(params, variant)) {
    throw CudaError(std::string("conv_pointwise: variant ") + conv_pointwise_name(variant) + " does not apply");
  }
  kLaunchers[variant](params, stream);
}

}  // namespace detstream::inference::cuda
