// 3x3 convolution (padding 1, stride 1 or 2) on tensor cores from a halo tile: each CTA computes
// a TH x TW patch of output pixels for BN output channels. Per chunk of BC input channels it
// copies the input window those pixels need, (TH-1)*S+3 x (TW-1)*S+3 pixels with its halo,
// into shared memory once, with the chunk's weights for all nine taps; the nine taps then read
// their A fragments from that one tile at shifted rows. The implicit GEMM (conv_igemm.cu)
// instead gathers every tap's rows from global memory: 9 copies and their address arithmetic per
// input pixel. On the H200 this halves the 16-channel 3x3 layers at batch 32 (86 -> 38 us) and
// wins most 3x3 stride-1 layers by 5-20%. Zero-filled copies outside the image are the padding.
// The epilogue is the implicit GEMM's (conv_mma.cuh): bias, activation, residual, channel pairs
// at any pixel stride.
#include <algorithm>
#include <array>
#include <utility>

#include "inference/cuda/conv_halo_cta.cuh"

namespace detstream::inference::cuda {

namespace {

struct HaloConfig {
  int th, tw, bn, warp_m, warp_n, stride, bc, stages;
  int min_ctas;  // per SM, for the register cap (__launch_bounds__)
  bool stream;   // conv_halo_stream_kernel: C == BC (one chunk), weights kept, patches streamed
  const char* name;
  int groups = 1;  // of the stream kernel: 2 for its ping-pong
};
// The variants that won the tactic timing on some yolov8n layer at batch 1 or 32 on an H200
// (bench/cuda/logs/2026-12-02_s3pointwise_*); 8x8 patches, 3-stage 64-channel tiles and a 64-channel
// stride-2 tile never did and were dropped. Two stages keep 3-4 CTAs per SM where the 64-channel
// layers have only 4 channel chunks to pipeline; eight warps (32x32 warp tiles, or a 16x16 patch
// whose weights serve twice the pixels) hide the MMA's fixed latencies that ncu showed stalling
// 2 warps per scheduler.
constexpr HaloConfig kHalo[kConvHaloCount] = {
    {8, 16, 16, 32, 16, 1, 16, 3, 1, false, "halo8x16n16"},    {8, 16, 32, 32, 32, 1, 16, 3, 1, false, "halo8x16n32"},
    {8, 16, 32, 32, 32, 1, 16, 2, 1, false, "halo8x16n32x2"},  {8, 16, 64, 32, 32, 1, 16, 2, 1, false, "halo8x16n64w8"},
    // 158 registers held it to one CTA (8 warps) per SM: ncu, 80x80 head conv at batch 32,
    // 12.5% occupancy, tensor pipe 30% busy, stalled on fixed-latency waits. Capped for two.
    {16, 16, 64, 64, 32, 1, 16, 2, 2, false, "halo16x16n64"},  {8, 16, 32, 32, 32, 2, 16, 2, 1, false, "halo8x16n32s2"},
    // The 16-channel layers have one chunk: without streaming, a CTA loads, multiplies and
    // stores with nothing in flight to overlap (batch 32: 45-72 us against 15-45 us of bytes).
    {8, 16, 16, 32, 16, 1, 16, 3, 1, true, "halo8x16n16stream"}, {8, 16, 32, 32, 32, 2, 16, 2, 1, true, "halo8x16n32s2stream"},
    // Whole 32- and 64-channel layers as one chunk, streamed the same way: the C2f bottlenecks at
    // 80x80 and 40x40 ran at 3-4x their bytes at batch 32 (27-37 us), each CTA loading its
    // weights for one patch.
    {8, 16, 32, 32, 16, 1, 32, 3, 2, true, "halo8x16n32c32stream"}, {8, 16, 32, 32, 16, 1, 64, 2, 2, true, "halo8x16n32c64stream"},
    {8, 16, 64, 32, 32, 1, 64, 2, 1, true, "halo8x16n64c64stream"},
    {8, 16, 64, 32, 32, 1, 64, 2, 1, true, "halo8x16n64c64stream pingpong", 2},
};

// One patch per CTA, its channel chunks pipelined over STAGES (window and weights per chunk).
template <typename Cta, int STAGES, int MIN_CTAS>
__global__ void __launch_bounds__(Cta::kThreads, MIN_CTAS) conv_halo_kernel(ConvIgemmParams p) {
  using Tile = typename Cta::Tile;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  half* stages = reinterpret_cast<half*>(shared_bytes);  // min(STAGES, chunks) stages (launch)
  const TileOrigin patch = Cta::patch_of(blockIdx.x, p);
  const int n0 = blockIdx.y * Cta::kBn;
  const int chunks = p.c / Cta::kBc;
  // The first chunks' weights are constants: in flight while the producer finishes (with
  // programmatic launch); they join the first commit group (as in conv_igemm.cu).
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s)
    if (s < chunks) Cta::load_weights(stages + s * Tile::kStageHalves + Tile::kPatchHalves, p, n0, s * Cta::kBc);
  wait_for_producers();
  release_dependents();

  auto load_chunk = [&](int stage, int c0) {
    half* window = stages + stage * Tile::kStageHalves;
    Cta::load_window(window, p, patch, c0);
    Cta::load_weights(window + Tile::kPatchHalves, p, n0, c0);
  };
  float acc[Cta::kMF][Cta::kNF][4];
  zero_accumulators(acc);
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < chunks) Cta::load_window(stages + s * Tile::kStageHalves, p, patch, s * Cta::kBc);
    cp_async_commit();
  }
  const typename Cta::Lane lane;
  for (int i = 0; i < chunks; ++i) {
    cp_async_wait<STAGES - 2>();
    // Also orders the reuse below: the stage loaded next was multiplied in the previous iteration.
    __syncthreads();
    if (i + STAGES - 1 < chunks) load_chunk((i + STAGES - 1) % STAGES, (i + STAGES - 1) * Cta::kBc);
    cp_async_commit();
    const half* window = stages + (i % STAGES) * Tile::kStageHalves;
    Cta::multiply(acc, window, window + Tile::kPatchHalves, lane);
  }
  cp_async_wait<0>();
  Cta::store(acc, p, patch, n0, lane);
}

// Named barriers (bar.sync / bar.arrive over `threads` threads; barrier 0 is __syncthreads').
__device__ __forceinline__ void barrier_sync(int id, int threads) { asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory"); }
__device__ __forceinline__ void barrier_arrive(int id, int threads) { asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory"); }

// Single-chunk layers (C == BC): the CTA loads its weights once and walks over patches
// blockIdx.x, blockIdx.x + gridDim.x, ... (the grid is what the GPU holds at once), with
// STAGES - 1 windows in flight while it multiplies one patch and stores its result. A residual
// rides with its patch's window (ncu, model.2's bottleneck at batch 32: the epilogue's global
// residual loads were the top stall, 53 us against 37 us for the same layer without one).
// GROUPS == 2 is a ping-pong: two groups of kThreads take the CTA's patches in turn, each with
// its own windows, and hand the tensor cores to each other (named barriers 3 and 4), so that
// one group's epilogue and window wait run under the other's multiply. One 135 KB CTA per SM
// (the 64-channel weights) otherwise leaves the tensor pipe idle through every epilogue (ncu,
// 80x80 head conv at batch 32: 36% busy, IPC 0.32). Its residual is read in the epilogue, which
// the other group's multiply hides: staged, it would not fit beside the two groups' windows.
template <typename Cta, int STAGES, int MIN_CTAS, int GROUPS>
__global__ void __launch_bounds__(GROUPS * Cta::kThreads, MIN_CTAS) conv_halo_stream_kernel(ConvIgemmParams p, int patches) {
  using Tile = typename Cta::Tile;
  static_assert(GROUPS == 1 || GROUPS == 2, "one group, or a ping-pong of two");
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  const int group = static_cast<int>(threadIdx.x / Cta::kThreads);
  const unsigned tid = threadIdx.x % Cta::kThreads;
  half* weights = reinterpret_cast<half*>(shared_bytes);
  half* windows = weights + Tile::kWeightHalves + group * STAGES * Tile::kPatchHalves;           // STAGES of them
  half* residuals = weights + Tile::kWeightHalves + GROUPS * STAGES * Tile::kPatchHalves;       // STAGES, when staged
  const bool staged_residual = GROUPS == 1 && p.residual != nullptr;
  const int n0 = blockIdx.y * Cta::kBn;
  const int of_cta = (patches - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) / static_cast<int>(gridDim.x);
  const int mine = (of_cta - group + GROUPS - 1) / GROUPS, theirs = (of_cta - (1 - group) + 1) / 2;  // theirs: GROUPS == 2
  auto patch = [&](int j) { return Cta::patch_of(static_cast<int>(blockIdx.x + (j * GROUPS + group) * gridDim.x), p); };
  auto load_patch = [&](int stage, int j) {
    const TileOrigin origin = patch(j);
    Cta::load_window(windows + stage * Tile::kPatchHalves, p, origin, 0, tid);
    if (staged_residual) Cta::load_residual(residuals + stage * Cta::kResidualHalves, p, origin, n0);
  };
  Cta::template load_weights<GROUPS * Cta::kThreads>(weights, p, n0, 0);  // constants: in flight while the producer finishes
  if constexpr (GROUPS > 1) cp_async_commit();
  wait_for_producers();
  release_dependents();
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < mine) load_patch(s, s);
    cp_async_commit();  // one group: the weights ride in the first
  }
  if constexpr (GROUPS > 1) {
    cp_async_wait<STAGES - 1>();  // the weights: every thread's copies, before either group multiplies
    __syncthreads();
  }
  const typename Cta::Lane lane(tid);
  float acc[Cta::kMF][Cta::kNF][4];
  for (int j = 0; j < mine; ++j) {
    cp_async_wait<STAGES - 2>();
    // Also: every warp of the group is done with the stage the next load overwrites.
    if constexpr (GROUPS == 1) __syncthreads();
    else barrier_sync(1 + group, Cta::kThreads);
    const int ahead = j + STAGES - 1;
    if (ahead < mine) load_patch(ahead % STAGES, ahead);
    cp_async_commit();
    zero_accumulators(acc);
    // Patch j of group 1 follows patch j of group 0, which follows patch j - 1 of group 1.
    if constexpr (GROUPS == 2)
      if (j > 0 || group == 1) barrier_sync(3 + group, 2 * Cta::kThreads);
    Cta::multiply(acc, windows + (j % STAGES) * Tile::kPatchHalves, weights, lane);
    if constexpr (GROUPS == 2)
      if (group == 0 ? j < theirs : j + 1 < theirs) barrier_arrive(4 - group, 2 * Cta::kThreads);
    if (staged_residual) {
      Cta::store_staged(acc, p, patch(j), n0, lane, residuals + (j % STAGES) * Cta::kResidualHalves);
    } else {
      Cta::store(acc, p, patch(j), n0, lane);
    }
  }
  cp_async_wait<0>();
}

// Each variant's kernel is a distinct function of one type: the once-per-kernel statics below
// live in launch_variant<T>, one per variant.
template <int T>
void launch_variant(const ConvIgemmParams& p, cudaStream_t stream) {
  constexpr HaloConfig c = kHalo[T];
  using Cta = HaloCta<c.th, c.tw, c.bn, c.warp_m, c.warp_n, c.stride, c.bc>;
  using Tile = typename Cta::Tile;
  const long long patches = static_cast<long long>(p.n) * ((p.out_h + c.th - 1) / c.th) * ((p.out_w + c.tw - 1) / c.tw);
  const unsigned channel_tiles = static_cast<unsigned>((p.k + c.bn - 1) / c.bn);
  if constexpr (c.stream) {
    constexpr int kThreads = c.groups * Cta::kThreads;
    constexpr std::size_t kShared = (Tile::kWeightHalves + c.groups * c.stages * Tile::kPatchHalves) * sizeof(half);
    constexpr std::size_t kWithResidual = kShared + (c.groups == 1 ? c.stages * Cta::kResidualHalves * sizeof(half) : 0);
    auto* kernel = conv_halo_stream_kernel<Cta, c.stages, c.min_ctas, c.groups>;
    static const bool opted_in = allow_shared(kernel, kWithResidual);
    static const int resident = resident_ctas(kernel, kThreads, kShared);
    static const int resident_with_residual = resident_ctas(kernel, kThreads, kWithResidual);
    (void)opted_in;
    const bool residual = p.residual != nullptr;
    const long long per_channel_tile = std::max<long long>(1, (residual ? resident_with_residual : resident) / channel_tiles);
    const dim3 grid(static_cast<unsigned>(std::min(patches, per_channel_tile)), channel_tiles);
    launch_dependent(kernel, grid, kThreads, residual ? kWithResidual : kShared, stream, p, static_cast<int>(patches));
  } else {
    constexpr std::size_t kStageBytes = static_cast<std::size_t>(Tile::kStageHalves) * sizeof(half);
    auto* kernel = conv_halo_kernel<Cta, c.stages, c.min_ctas>;
    static const bool opted_in = allow_shared(kernel, c.stages * kStageBytes);
    (void)opted_in;
    const std::size_t shared = std::min(c.stages, p.c / c.bc) * kStageBytes;
    launch_dependent(kernel, dim3(static_cast<unsigned>(patches), channel_tiles), Cta::kThreads, shared, stream, p);
  }
}

template <int... T>
constexpr std::array<void (*)(const ConvIgemmParams&, cudaStream_t), sizeof...(T)> variant_launchers(std::integer_sequence<int, T...>) {
  return {&launch_variant<T>...};
}
constexpr auto kLaunchers = variant_launchers(std::make_integer_sequence<int, kConvHaloCount>{});

}  // namespace

const char* conv_halo_name(int variant) { return variant >= 0 && variant < kConvHaloCount ? kHalo[variant].name : "?"; }

bool conv_halo_supported(const ConvIgemmParams& p, int variant) {
  if (variant < 0 || variant >= kConvHaloCount) return false;
  const HaloConfig& c = kHalo[variant];
  const int out_h = (p.h + 2 - 3) / c.stride + 1, out_w = (p.w_in + 2 - 3) / c.stride + 1;
  return p.r == 3 && p.s == 3 && p.pad_h == 1 && p.pad_w == 1 && p.dilation_h == 1 && p.dilation_w == 1 &&
         p.stride_h == c.stride && p.stride_w == c.stride && p.c % c.bc == 0 && p.out_h == out_h && p.out_w == out_w &&
         p.splits <= 1 && !p.has_upsampled && (!c.stream || (p.c == c.bc && (!p.has_residual || p.residual_vectors)));
}

void launch_conv_halo(const ConvIgemmParams& params, int variant, cudaStream_t stream) {
  if (!conv_halo_supported(params, variant)) throw CudaError(std::string("conv_halo: variant ") + conv_halo_name(variant) + " does not apply");
  kLaunchers[variant](params, stream);
}

}  // namespace detstream::inference::cuda
