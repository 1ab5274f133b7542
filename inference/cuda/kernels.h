// Host-side launchers of the backend's own CUDA kernels and their parameter blocks. Every
// operand is a strided view (element strides per logical dimension, 0 for broadcast), in float32
// or float16, so one kernel serves NCHW, NHWC, channel slices, views and broadcasts; arithmetic
// is float32. Launchers only enqueue on `stream` (no allocation, no synchronisation) and check
// the launch with DETSTREAM_CUDA_CHECK. Internal to inference/cuda/.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace detstream::inference::cuda {

inline constexpr int kMaxRank = 6;
enum KernelDtype : int { kKernelF32 = 0, kKernelF16 = 1 };
enum KernelOp : int { kOpCopy = 0, kOpAdd, kOpSub, kOpMul, kOpDiv };
enum KernelActivation : int { kActNone = 0, kActSilu, kActRelu, kActSigmoid };

struct StridedOperand {
  void* data = nullptr;  // already offset to the view's first element
  int dtype = kKernelF32;
  std::int64_t strides[kMaxRank] = {};
};

// y[i] = act(op(a[i], b[i])) over a rank-`rank` iteration space (b unused for kOpCopy).
struct ElementwiseParams {
  int op = kOpCopy;
  int activation = kActNone;
  int rank = 0;
  std::int64_t dims[kMaxRank] = {};
  std::int64_t count = 0;
  StridedOperand a, b, y;
};
void launch_elementwise(const ElementwiseParams& params, cudaStream_t stream);

// 2-D windows over N x C x H x W views (strides in that logical order).
struct Window2d {
  std::int64_t n = 0, c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  bool channels_last = true;  // thread order: C fastest (NHWC data) or W fastest
  // fp16 NHWC views with C, offsets and pixel strides multiples of 8: each thread moves 8
  // channels as one 16-byte vector (set by the layer when vector_aligned holds for x and y).
  bool vector8 = false;
};
struct MaxPoolParams {
  Window2d window;
  StridedOperand x, y;
};
void launch_maxpool2d(const MaxPoolParams& params, cudaStream_t stream);
// `count` chained stride-1 "same" max pools of one window (SPPF): y[0] pools x, y[i] pools
// y[i-1]; all fp16 NHWC 16-byte vectors (vector8), the window k x k with k 3 or 5
// (maxpool_chain_supported). `window` describes one pool.
struct MaxPoolChainParams {
  Window2d window;
  StridedOperand x, y[3];
  int count = 0;
};
bool maxpool_chain_supported(const Window2d& window, int count);
void launch_maxpool_chain(const MaxPoolChainParams& params, cudaStream_t stream);

enum ResizeCoordinate : int { kCoordAsymmetric = 0, kCoordHalfPixel, kCoordPytorchHalfPixel, kCoordAlignCorners, kCoordTfHalfPixel };
enum ResizeNearest : int { kNearestFloor = 0, kNearestCeil, kNearestRoundPreferFloor, kNearestRoundPreferCeil };
struct ResizeNearestParams {
  Window2d window;  // sizes only
  float scale_h = 1.0f, scale_w = 1.0f;
  int coordinate = kCoordAsymmetric;
  int nearest = kNearestFloor;
  StridedOperand x, y;
};
void launch_resize_nearest(const ResizeNearestParams& params, cudaStream_t stream);

// Softmax along one axis: `rows` independent rows indexed by the other dimensions.
struct SoftmaxParams {
  int rank = 0;  // of the row index space (all dimensions but the axis)
  std::int64_t dims[kMaxRank] = {};
  std::int64_t rows = 0;
  std::int64_t axis_length = 0;
  std::int64_t x_axis_stride = 0, y_axis_stride = 0;
  StridedOperand x, y;  // strides over the row index space
};
void launch_softmax(const SoftmaxParams& params, cudaStream_t stream);

}  // namespace detstream::inference::cuda

namespace detstream::inference::cuda {

// Implicit-GEMM convolution on tensor cores: NHWC fp16 input and output (channel stride 1, the
// other strides free, so inputs may be channel slices and outputs may go into a concatenation),
// weights K x R x S x C fp16, bias fp32, fused activation, fp32 accumulation, and optionally a
// residual added after the activation (y = act(conv + bias) + residual: YOLOv8's Bottleneck).
// Needs C a multiple of 8 with the input's offset and pixel strides multiples of 8 elements
// (16-byte vectors), and K even with the output's (and residual's) offset and pixel strides even
// (channel pairs are stored as half2).
// Split-K: with splits > 1, `splits` CTAs share one output tile, each over a slice of the depth.
// Small layers then fill the GPU instead of running 20-30 CTAs. With cluster_reduce and at most
// kMaxClusterSplits slices, the slices are one thread-block cluster and sum their fp32 partials
// through distributed shared memory; otherwise each writes its partial to `partials`, and the last
// to arrive (counted in `tile_counters`, which must be zero before the launch and are zero again
// after it) sums them and runs the epilogue. Either way slices are summed in slice order.
struct ConvIgemmParams {
  const void* x = nullptr;
  const void* w = nullptr;
  const float* bias = nullptr;      // may be null
  const void* residual = nullptr;   // may be null; NHWC fp16 like y
  void* y = nullptr;
  int n = 0, c = 0, h = 0, w_in = 0;
  int k = 0, r = 1, s = 1;
  int out_h = 0, out_w = 0;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  long long x_sn = 0, x_sh = 0, x_sw = 0;
  long long y_sn = 0, y_sh = 0, y_sw = 0;
  long long r_sn = 0, r_sh = 0, r_sw = 0;
  // May be null: a nearest 2x upsampling of y the epilogue also writes (a Resize folded into the
  // convolution; NHWC fp16, out_h*2 x out_w*2), each value to its 2x2 block. Implicit-GEMM and
  // pointwise kernels only (has_upsampled: known at build time, before the address).
  void* y_up = nullptr;
  long long u_sn = 0, u_sh = 0, u_sw = 0;
  bool has_upsampled = false;
  int activation = kActNone;
  int splits = 1;              // set by launch_conv_igemm from the requested split count
  int k_tiles_per_split = 0;
  bool cluster_reduce = true;  // split-K sums in the cluster where the split count allows
  float* partials = nullptr;   // conv_igemm_partials_bytes() of scratch, when splits > 1
  unsigned* tile_counters = nullptr;  // conv_igemm_output_tiles() counters, when splits > 1
  // Known at build time, before the residual's address: whether there will be one, and whether
  // its offset and pixel strides are multiples of 8 elements (kernels that copy it in 16 bytes).
  bool has_residual = false, residual_vectors = false;
};
// Tiles of 32-deep k-tiles in three stages; the Deep ones take 64-deep k-tiles in four stages
// (more bytes in flight for layers with a deep R*S*C).
enum ConvTile : int {
  kTile128x64 = 0, kTile64x64, kTile64x32, kTile32x64, kTile32x32, kTile128x32, kTile128x16, kTile64x16,
  kTile128x64Deep, kTile64x64Deep, kTile128x32Deep, kTile64x32Deep, kTile64x16Deep, kTile32x32Deep, kConvTileCount
};
const char* conv_tile_name(int tile);
constexpr int kMaxClusterSplits = 8;  // the portable cluster size
// The split count that actually runs when `requested` are asked for (each slice gets whole
// k-tiles of the tile's depth, so some requests collapse onto smaller counts).
int conv_igemm_effective_splits(const ConvIgemmParams& params, int tile, int requested);
long long conv_igemm_output_tiles(const ConvIgemmParams& params, int tile);
std::size_t conv_igemm_partials_bytes(const ConvIgemmParams& params, int tile, int splits);
void launch_conv_igemm(const ConvIgemmParams& params, int tile, int splits, cudaStream_t stream);

// Halo-tile 3x3 convolution (conv_halo.cu): padding 1, stride 1 or 2 (per variant), C a multiple
// of 16, otherwise the implicit GEMM's operands and epilogue (same ConvIgemmParams; no split-K).
// Each CTA stages its output patch's input window once per channel chunk instead of gathering
// every tap from global memory.
// The "stream" variants are for single-chunk layers (C = 16, 32 or 64): each CTA keeps its
// weights and walks over several patches, prefetching the next patch's window while it
// multiplies this one; the ping-pong splits the CTA in two groups that take turns on the tensor
// cores, one multiplying while the other stores.
enum ConvHaloVariant : int {
  kHalo8x16n16 = 0, kHalo8x16n32, kHalo8x16n32TwoStage, kHalo8x16n64EightWarps, kHalo16x16n64, kHalo8x16n32s2,
  kHalo8x16n16Stream, kHalo8x16n32s2Stream, kHalo8x16n32c32Stream, kHalo8x16n32c64Stream, kHalo8x16n64c64Stream,
  kHalo8x16n64c64StreamPingPong, kConvHaloCount
};
const char* conv_halo_name(int variant);
bool conv_halo_supported(const ConvIgemmParams& params, int variant);
void launch_conv_halo(const ConvIgemmParams& params, int variant, cudaStream_t stream);

// Shallow 1x1 convolutions (conv_pointwise.cu): stride 1, no padding, C a multiple of 16 up to
// 128, otherwise the implicit GEMM's operands and epilogue (same ConvIgemmParams; no split-K).
// Persistent CTAs keep a BN-channel slice of the weights and stream 128-pixel tiles.
enum ConvPointwiseVariant : int { kPointwiseN32 = 0, kPointwiseN64, kConvPointwiseCount };
const char* conv_pointwise_name(int variant);
bool conv_pointwise_supported(const ConvIgemmParams& params, int variant);
void launch_conv_pointwise(const ConvIgemmParams& params, int variant, cudaStream_t stream);

// Direct convolution for few input channels (the stem: C = 3), straight from the graph's input
// in any layout and float type (fp32 NCHW, so no conversion copy runs before it), to NHWC fp16
// (channel stride 1, pixel strides multiples of 8 elements). Weights are fp32 K x C x R x S,
// K a multiple of 8. Each thread computes one output pixel for 8 or 16 channels.
struct ConvDirectParams {
  StridedOperand x;  // strides over N, C, H, W
  const float* w = nullptr;
  const float* bias = nullptr;
  void* y = nullptr;
  long long y_sn = 0, y_sh = 0, y_sw = 0;
  int n = 0, c = 0, h = 0, w_in = 0;
  int k = 0, r = 1, s = 1;
  int out_h = 0, out_w = 0;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  int activation = kActNone;
};
// Whether the direct kernel can run these sizes (shared memory holds the weights of one CTA).
bool conv_direct_supported(int c, int k, int r, int s);
// Variants: one output pixel per thread (any geometry conv_direct_supported takes), or 2 or 4
// pixels per thread for the 3-channel 3x3 stride-2 stem over an fp32 input with unit column
// stride, output width a multiple of 2 or 4 and the input at least twice as wide; 16 output
// channels per thread where K allows, or 8.
// kDirectMma: the stem on tensor cores (conv_stem_mma.cu), K 16 or 32, input width a multiple of 4.
enum ConvDirectVariant : int {
  kDirectPixel = 0, kDirect2Pixel, kDirect4Pixel, kDirect2PixelK8, kDirect4PixelK8, kDirectMma, kConvDirectCount
};
const char* conv_direct_name(int variant);
bool conv_direct_variant_supported(const ConvDirectParams& params, int variant);
// A multi-pixel variant falls back to one pixel per thread if x is not 16-byte aligned.
void launch_conv_direct(const ConvDirectParams& params, int variant, cudaStream_t stream);
// The stem the multi-pixel and tensor-core variants are for: 3 channels, 3x3, stride 2, padding 1,
// fp32 input with unit column stride and the other strides multiples of 4 floats (float4 rows).
bool conv_stem_geometry(const ConvDirectParams& params);
bool conv_stem_mma_supported(const ConvDirectParams& params);
void launch_conv_stem_mma(const ConvDirectParams& params, cudaStream_t stream);

// The stem (3 -> 16 channels, conv_stem_geometry, input width a multiple of 4) and the 16 -> 32
// 3x3 stride-2 convolution over its output in one kernel (conv_stem_pair.cu): the stem's map is
// never stored. `stem` describes the first layer (its y unused), `next` the second (its x unused;
// its input sizes are the stem's output sizes; no residual, no split-K).
bool conv_stem_pair_supported(const ConvDirectParams& stem, const ConvIgemmParams& next);
void launch_conv_stem_pair(const ConvDirectParams& stem, const ConvIgemmParams& next, cudaStream_t stream);

}  // namespace detstream::inference::cuda
