// The stem and the convolution after it in one kernel (YOLOv8's model.0 and model.1: 3 -> 16
// channels, then 16 -> 32, both 3x3 stride 2 with padding 1). Run apart, the stem writes its
// 16-channel map at half the input's resolution and the next layer reads it back: at batch 32 on
// the H200 that map is 105 MB each way, and the two kernels took 126 + 74 us against a ~50 us floor
// for the fp32 input and the final map alone. Here each CTA computes one 8 x 16 output patch of the
// second layer: it stages the fp32 input rows the patch needs (35 x 68 per channel), runs the stem
// on tensor cores over the 17 x 33 stem pixels under the patch (conv_stem_fragments.cuh) into
// shared memory, zero outside the stem map (the second layer's padding), and multiplies that window
// by the second layer's weights as the halo-tile kernel does (conv_halo_cta.cuh). The stem's
// outputs on patch borders are computed twice (10% more stem work). CTAs are persistent: the
// second layer's weights stay in shared memory and the next patch's input rows are copied while
// this one is computed. Batch 32: 170 us for both layers; it is issue-bound (ncu: IPC 0.6 at 25%
// occupancy), the stem's per-pixel activation epilogue its largest part.
#include <algorithm>

#include "inference/cuda/conv_halo_cta.cuh"
#include "inference/cuda/conv_stem_fragments.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kPatchRows = 8, kPatchCols = 16;            // second layer's outputs per CTA
constexpr int kStemChannels = 16, kOutChannels = 32;
using Cta = HaloCta<kPatchRows, kPatchCols, kOutChannels, 32, 16, 2, kStemChannels>;
using Window = Cta::Tile;                                  // the stem pixels, 17 x 33
constexpr int kThreads = Cta::kThreads;
constexpr int kWarps = kThreads / 32;
constexpr int kInRows = 2 * Window::kPatchH + 1;          // input rows per channel: 35
constexpr int kInVectors = (2 * Window::kPatchW + 2) / 4;  // float4s per row: columns -4 .. 63 from 4*x0
constexpr int kInPitch = 4 * kInVectors;                  // 68 floats
constexpr int kInFloats = 3 * kInRows * kInPitch;
constexpr int kStemPixels = Window::kPatchH * Window::kPatchW;
constexpr int kStemFragments = (kStemPixels + 15) / 16;
constexpr int kStages = 2;  // input stages: one being computed, the next in flight
static_assert(2 * (Window::kPatchW - 1) + 1 + 2 < kInPitch, "the last stem column's window is staged");

constexpr std::size_t kSharedBytes =
    kStages * kInFloats * sizeof(float) + (Window::kPatchHalves + Window::kWeightHalves) * sizeof(half);

// Input rows 4*y0-3 .. 4*y0+31 of each channel and columns 4*x0-4 .. 4*x0+63 of patch (y0, x0);
// zero outside the image (the stem's padding). The input width is a multiple of 4, so every
// float4 is wholly inside or outside.
__device__ __forceinline__ void load_input(float* stage, const ConvDirectParams& stem, const TileOrigin& patch) {
  const float* x = static_cast<const float*>(stem.x.data);
  const float* x_image = x + static_cast<long long>(patch.image) * stem.x.strides[0];
  // One image's offsets fit in 32 bits (conv_stem_pair_supported).
  const int channel_stride = static_cast<int>(stem.x.strides[1]), row_stride = static_cast<int>(stem.x.strides[2]);
  const int ih0 = 4 * patch.y0 - 3, col0 = 4 * patch.x0 - 4;
#pragma unroll
  for (int v = threadIdx.x; v < 3 * kInRows * kInVectors; v += kThreads) {
    const int row = v / kInVectors, q = v % kInVectors;
    const int c = row / kInRows, ih = ih0 + row % kInRows, col = col0 + 4 * q;
    const bool pred = static_cast<unsigned>(ih) < static_cast<unsigned>(stem.h) && static_cast<unsigned>(col) < static_cast<unsigned>(stem.w_in);
    cp_async16(stage + row * kInPitch + 4 * q, pred ? x_image + (c * channel_stride + ih * row_stride + col) : x, pred);
  }
}

// Stem pixel m of the window (row m / 33, column m % 33) is stem output (2*y0 - 1 + row,
// 2*x0 - 1 + column); its 3x3 window starts at staged row 2*row, column 2*column + 1.
__device__ __forceinline__ int stem_base(int m) {
  const int row = m / Window::kPatchW, col = m % Window::kPatchW;
  return 2 * row * kInPitch + 2 * col + 1;
}

// The stem over every window pixel, bias and activation applied, rounded to fp16 into the
// window's layout (HaloTile), zero for pixels outside the stem's map. A warp's fragments are
// unrolled so that their load -> convert -> MMA -> activation chains overlap: looped, each
// fragment waited for the previous one's (ncu: 2.2 cycles of fixed-latency stall per issue).
template <int kActivation>
__device__ __forceinline__ void run_stem(half* window, const float* in, const StemFragments<2>& ops, const ConvDirectParams& stem,
                                         const TileOrigin& patch) {
  constexpr int kPerWarp = (kStemFragments + kWarps - 1) / kWarps;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sy0 = 2 * patch.y0 - 1, sx0 = 2 * patch.x0 - 1;
  float bias[2][2];
#pragma unroll
  for (int nf = 0; nf < 2; ++nf)
#pragma unroll
    for (int e = 0; e < 2; ++e) bias[nf][e] = stem.bias ? stem.bias[nf * 8 + (lane % 4) * 2 + e] : 0.0f;
#pragma unroll
  for (int i = 0; i < kPerWarp; ++i) {
    const int f = warp + i * kWarps;
    if (f >= kStemFragments) break;
    int m[2], base[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      m[h] = f * 16 + lane / 4 + 8 * h;
      base[h] = stem_base(min(m[h], kStemPixels - 1));
    }
    float acc[2][4] = {};
    ops.multiply(acc, in, base);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if (m[h] >= kStemPixels) continue;
      const int row = m[h] / Window::kPatchW, col = m[h] % Window::kPatchW;
      const int sy = sy0 + row, sx = sx0 + col;
      const bool inside = static_cast<unsigned>(sy) < static_cast<unsigned>(stem.out_h) && static_cast<unsigned>(sx) < static_cast<unsigned>(stem.out_w);
      half* dst = window + (row * Window::kPatchW + Window::column_slot(col)) * Window::kLdc + (lane % 4) * 2;
#pragma unroll
      for (int nf = 0; nf < 2; ++nf) {
        const float2 v = inside ? make_float2(activate_as<kActivation>(stem.activation, acc[nf][2 * h] + bias[nf][0]),
                                              activate_as<kActivation>(stem.activation, acc[nf][2 * h + 1] + bias[nf][1]))
                                : make_float2(0.0f, 0.0f);
        *reinterpret_cast<__half2*>(dst + nf * 8) = __float22half2_rn(v);
      }
    }
  }
}

__global__ void __launch_bounds__(kThreads, 2) conv_stem_pair_kernel(ConvDirectParams stem, ConvIgemmParams next, int patches) {
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  float* inputs = reinterpret_cast<float*>(shared_bytes);           // kStages staged inputs
  half* window = reinterpret_cast<half*>(inputs + kStages * kInFloats);  // the stem's outputs
  half* weights = window + Window::kPatchHalves;                     // the second layer's
  const int mine = (patches - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) / static_cast<int>(gridDim.x);
  auto patch = [&](int j) { return Cta::patch_of(static_cast<int>(blockIdx.x + j * gridDim.x), next); };
  Cta::load_weights(weights, next, 0, 0);  // constants: in flight while the producer finishes
  const StemFragments<2> ops(stem.w, kInRows, kInPitch);
  wait_for_producers();
  release_dependents();
  if (mine > 0) load_input(inputs, stem, patch(0));
  cp_async_commit();  // the weights ride in the first group
  const Cta::Lane lane;
  float acc[Cta::kMF][Cta::kNF][4];
  for (int j = 0; j < mine; ++j) {
    cp_async_wait<0>();
    // Also: every warp is done with the staged input the next copy overwrites (run_stem of j - 1)
    // and with the window run_stem overwrites (the multiply of j - 1).
    __syncthreads();
    if (j + 1 < mine) load_input(inputs + ((j + 1) % kStages) * kInFloats, stem, patch(j + 1));
    cp_async_commit();
    const TileOrigin origin = patch(j);
    const float* in = inputs + (j % kStages) * kInFloats;
    // The activation is dispatched once, not per value (as in store_accumulators).
    if (stem.activation == kActSilu) {
      run_stem<kActSilu>(window, in, ops, stem, origin);
    } else {
      run_stem<-1>(window, in, ops, stem, origin);
    }
    __syncthreads();
    zero_accumulators(acc);
    Cta::multiply(acc, window, weights, lane);
    Cta::store(acc, next, origin, 0, lane);
  }
  cp_async_wait<0>();
}

}  // namespace

bool conv_stem_pair_supported(const ConvDirectParams& stem, const ConvIgemmParams& next) {
  const bool stem_ok = conv_stem_geometry(stem) && stem.w_in % 4 == 0 && stem.k == kStemChannels &&
                       stem.x.strides[1] * 3 < (1LL << 31) && stem.x.strides[2] * stem.h < (1LL << 31);
  const bool next_ok = next.c == kStemChannels && next.k == kOutChannels && next.r == 3 && next.s == 3 && next.stride_h == 2 &&
                       next.stride_w == 2 && next.pad_h == 1 && next.pad_w == 1 && next.dilation_h == 1 && next.dilation_w == 1 &&
                       next.splits <= 1 && next.residual == nullptr;
  return stem_ok && next_ok && next.n == stem.n && next.h == stem.out_h && next.w_in == stem.out_w &&
         next.out_h == (stem.out_h - 1) / 2 + 1 && next.out_w == (stem.out_w - 1) / 2 + 1;
}

void launch_conv_stem_pair(const ConvDirectParams& stem, const ConvIgemmParams& next, cudaStream_t stream) {
  if (!conv_stem_pair_supported(stem, next)) {
    throw CudaError("conv_stem_pair: not a 3 -> 16 stem (3x3 stride 2, input width a multiple of 4) followed by a 16 -> 32 3x3 stride-2 convolution");
  }
  static const bool opted_in = allow_shared(conv_stem_pair_kernel, kSharedBytes);
  static const int resident = resident_ctas(conv_stem_pair_kernel, kThreads, kSharedBytes);
  (void)opted_in;
  const long long patches = static_cast<long long>(next.n) * ((next.out_h + kPatchRows - 1) / kPatchRows) *
                            ((next.out_w + kPatchCols - 1) / kPatchCols);
  const unsigned grid = static_cast<unsigned>(std::min<long long>(patches, resident));
  launch_dependent(conv_stem_pair_kernel, dim3(grid), dim3(kThreads), kSharedBytes, stream, stem, next, static_cast<int>(patches));
}

}  // namespace detstream::inference::cuda
