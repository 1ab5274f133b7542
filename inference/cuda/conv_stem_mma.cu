// The stem convolution on tensor cores: 3 input channels, 3x3, stride 2, padding 1, read in place
// from the graph's fp32 NCHW input. The 27-value window of an output pixel is the depth of one
// 16 x K x 32 MMA (two k16 steps, depths 27-31 have zero weights), so a pixel costs a few shared
// loads and conversions instead of the CUDA-core kernels' 27 x K FMAs (ncu at batch 32 on the
// H200: the 2-pixel CUDA-core kernel issued 87M instructions, 141 us against a ~60 us byte floor).
// CTAs are persistent: each keeps the weights in B fragments and walks over output tiles of
// 2 rows x 64 pixels, copying the next tiles' input rows (fp32, 16-byte cp.async, zero outside the
// image) into shared memory while it multiplies the current one.
#include <algorithm>

#include "inference/cuda/conv_stem_fragments.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kStages = 3;
constexpr int kTileRows = 2, kTileCols = 64;        // output pixels per tile; a warp has 32 of a row
constexpr int kInRows = 2 * kTileRows + 1;          // input rows per channel
constexpr int kVectors = 2 * kTileCols / 4 + 1;     // float4s per staged row: columns 2*ox0-4 .. 2*ox0+127
constexpr int kPitch = 4 * kVectors;                // floats per staged row
constexpr int kStageFloats = 3 * kInRows * kPitch;

__device__ __forceinline__ TileOrigin tile_of(int tile, const ConvDirectParams& p) {
  return tile_origin(tile, p.out_h, p.out_w, kTileRows, kTileCols);
}

// Input rows 2*y0-1 .. 2*y0+3 of each channel, columns 2*x0-4 .. 2*x0+127 (the input width is a
// multiple of 4, so every float4 is wholly inside or outside the image).
__device__ __forceinline__ void load_tile(float* stage, const ConvDirectParams& p, const TileOrigin& t) {
  const float* x = static_cast<const float*>(p.x.data);
  const float* x_image = x + t.image * p.x.strides[0];
  const int ih0 = 2 * t.y0 - 1, col0 = 2 * t.x0 - 4;
  for (int v = threadIdx.x; v < 3 * kInRows * kVectors; v += kWarps * 32) {
    const int row = v / kVectors, q = v % kVectors;
    const int c = row / kInRows, ih = ih0 + row % kInRows, col = col0 + 4 * q;
    const bool pred = static_cast<unsigned>(ih) < static_cast<unsigned>(p.h) && col >= 0 && col < p.w_in;
    cp_async16(stage + row * kPitch + 4 * q, pred ? x_image + c * p.x.strides[1] + ih * p.x.strides[2] + col : x, pred);
  }
}

// NF n8 fragments: K = 8 * NF output channels.
template <int NF>
__global__ void __launch_bounds__(kWarps * 32) conv_stem_mma_kernel(ConvDirectParams p, int tiles) {
  __shared__ __align__(16) float stages[kStages * kStageFloats];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const StemFragments<NF> stem(p.w, kInRows, kPitch);
  ConvIgemmParams out;  // the epilogue's view of the layer
  out.y = p.y, out.bias = p.bias, out.k = p.k, out.activation = p.activation;
  out.y_sn = p.y_sn, out.y_sh = p.y_sh, out.y_sw = p.y_sw;
  const int mine = (tiles - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) / static_cast<int>(gridDim.x);
  auto tile = [&](int j) { return tile_of(static_cast<int>(blockIdx.x + j * gridDim.x), p); };
  wait_for_producers();
  release_dependents();
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < mine) load_tile(stages + s * kStageFloats, p, tile(s));
    cp_async_commit();
  }
  // Warp w multiplies pixels 32*(w%2) .. +31 of tile row w/2: two m16 fragments.
  const int py = warp / 2, px0 = (warp % 2) * 32;
  for (int j = 0; j < mine; ++j) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // also: every warp is done with the stage the next load overwrites
    const int ahead = j + kStages - 1;
    if (ahead < mine) load_tile(stages + (ahead % kStages) * kStageFloats, p, tile(ahead));
    cp_async_commit();
    const float* stage = stages + (j % kStages) * kStageFloats;
    float acc[2][NF][4];
    zero_accumulators(acc);
#pragma unroll
    for (int mf = 0; mf < 2; ++mf) {
      // Column 2*px - 1 of the image is column 2*px + 3 of the stage.
      int base[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) base[h] = 2 * py * kPitch + 2 * (px0 + mf * 16 + lane / 4 + h * 8) + 3;
      stem.multiply(acc[mf], stage, base);
    }
    const TileOrigin t = tile(j);
    store_accumulators(acc, out, px0, 0, lane, [&](int row) {
      const int oy = t.y0 + py, ox = t.x0 + row;
      if (oy >= p.out_h || ox >= p.out_w) return OutputPixel{false, 0, 0};
      return OutputPixel{true, t.image * p.y_sn + oy * p.y_sh + ox * p.y_sw, 0};
    });
  }
  cp_async_wait<0>();
}

template <int NF>
void launch_typed(const ConvDirectParams& p, cudaStream_t stream) {
  static const int resident = resident_ctas(conv_stem_mma_kernel<NF>, kWarps * 32, 0);
  const long long tiles = static_cast<long long>(p.n) * ((p.out_h + kTileRows - 1) / kTileRows) * ((p.out_w + kTileCols - 1) / kTileCols);
  const unsigned grid = static_cast<unsigned>(std::min<long long>(tiles, resident));
  launch_dependent(conv_stem_mma_kernel<NF>, dim3(grid), dim3(kWarps * 32), 0, stream, p, static_cast<int>(tiles));
}

}  // namespace

bool conv_stem_mma_supported(const ConvDirectParams& p) {
  return conv_stem_geometry(p) && p.w_in % 4 == 0 && (p.k == 16 || p.k == 32);
}

void launch_conv_stem_mma(const ConvDirectParams& p, cudaStream_t stream) {
  if (!conv_stem_mma_supported(p)) throw CudaError("conv_stem_mma: not a 3-channel 3x3 stride-2 stem with K 16 or 32");
  p.k == 16 ? launch_typed<2>(p, stream) : launch_typed<4>(p, stream);
}

}  // namespace detstream::inference::cuda
