// Host-side launchers of the backend's own CUDA kernels and their parameter blocks. Every
// operand is a strided view (element strides per logical dimension, 0 for broadcast), in float32
// or float16, so one kernel serves NCHW, NHWC, channel slices, views and broadcasts; arithmetic
// is float32. Launchers only enqueue on `stream` (no allocation, no synchronisation) and check
// the launch with DETSTREAM_CUDA_CHECK. Internal to inference/cuda/.
#pragma once

#include <cuda_runtime_api.h>

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
};
struct MaxPoolParams {
  Window2d window;
  StridedOperand x, y;
};
void launch_maxpool2d(const MaxPoolParams& params, cudaStream_t stream);

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
// weights K x R x S x C fp16, bias fp32, fused activation, fp32 accumulation. Needs C and K
// multiples of 8 and every offset and pixel stride a multiple of 8 elements (16-byte vectors).
struct ConvIgemmParams {
  const void* x = nullptr;
  const void* w = nullptr;
  const float* bias = nullptr;  // may be null
  void* y = nullptr;
  int n = 0, c = 0, h = 0, w_in = 0;
  int k = 0, r = 1, s = 1;
  int out_h = 0, out_w = 0;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  long long x_sn = 0, x_sh = 0, x_sw = 0;
  long long y_sn = 0, y_sh = 0, y_sw = 0;
  int activation = kActNone;
};
enum ConvTile : int { kTile128x64 = 0, kTile64x64, kTile64x32, kTile32x64, kTile32x32, kConvTileCount };
const char* conv_tile_name(int tile);
void launch_conv_igemm(const ConvIgemmParams& params, int tile, cudaStream_t stream);

}  // namespace detstream::inference::cuda
