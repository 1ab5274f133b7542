// The letterbox kernel: one thread per target pixel. Inside the placed image it samples the frame
// like OpenCV's 8-bit INTER_LINEAR (source x = (dx + 0.5) * src/dst - 0.5, clamped at the
// borders, weights rounded to 1/2048, result rounded to 8 bits with the same fixed-point
// arithmetic as its scalar path), elsewhere it writes the pad grey.
#include <cuda_fp16.h>

#include <cmath>
#include <string>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/letterbox.h"

namespace detstream::inference::cuda {

namespace {

constexpr int kPadValue = 114;
constexpr int kWeightOne = 2048;  // OpenCV's INTER_RESIZE_COEF_SCALE

struct Axis {
  int index0, index1;  // source samples
  int weight0, weight1;  // of kWeightOne
};

// OpenCV computes the coordinate in float from a double scale.
__device__ __forceinline__ Axis source_axis(int d, double scale, int source_length) {
  float f = static_cast<float>((d + 0.5) * scale - 0.5);
  int s = static_cast<int>(floorf(f));
  f -= static_cast<float>(s);
  if (s < 0) {
    f = 0.0f;
    s = 0;
  }
  if (s >= source_length - 1) {
    f = 0.0f;
    s = source_length - 1;
  }
  Axis a;
  a.index0 = s;
  a.index1 = s + 1 < source_length ? s + 1 : s;
  a.weight0 = __float2int_rn((1.0f - f) * kWeightOne);
  a.weight1 = kWeightOne - a.weight0;
  return a;
}

struct LetterboxArgs {
  LetterboxFrame frame;
  LetterboxPlacement placement;
  LetterboxTarget target;
  double scale_x, scale_y;  // source pixels per resized pixel
};

__device__ __forceinline__ void store_value(const LetterboxTarget& t, int channel, int x, int y, float v) {
  const long long plane = static_cast<long long>(t.width) * t.height;
  const long long at = t.layout == ImageLayout::kNchw ? channel * plane + static_cast<long long>(y) * t.width + x
                                                      : (static_cast<long long>(y) * t.width + x) * 3 + channel;
  if (t.fp16) {
    static_cast<__half*>(t.data)[at] = __float2half_rn(v);
  } else {
    static_cast<float*>(t.data)[at] = v;
  }
}

__global__ void letterbox_kernel(LetterboxArgs a) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y;
  if (x >= a.target.width) return;
  const float unit = 1.0f / 255.0f;
  const int rx = x - a.placement.pad_left, ry = y - a.placement.pad_top;
  int bgr[3] = {kPadValue, kPadValue, kPadValue};
  if (rx >= 0 && rx < a.placement.resized_width && ry >= 0 && ry < a.placement.resized_height) {
    const Axis ax = source_axis(rx, a.scale_x, a.frame.width);
    const Axis ay = source_axis(ry, a.scale_y, a.frame.height);
    const std::uint8_t* row0 = a.frame.bgr + ay.index0 * a.frame.row_bytes;
    const std::uint8_t* row1 = a.frame.bgr + ay.index1 * a.frame.row_bytes;
#pragma unroll
    for (int c = 0; c < 3; ++c) {
      const int top = row0[ax.index0 * 3 + c] * ax.weight0 + row0[ax.index1 * 3 + c] * ax.weight1;
      const int bottom = row1[ax.index0 * 3 + c] * ax.weight0 + row1[ax.index1 * 3 + c] * ax.weight1;
      const int v = (top * ay.weight0 + bottom * ay.weight1 + (1 << 21)) >> 22;
      bgr[c] = v < 0 ? 0 : (v > 255 ? 255 : v);
    }
  }
  // BGR -> RGB: channel 0 of the model's input is red.
  store_value(a.target, 0, x, y, static_cast<float>(bgr[2]) * unit);
  store_value(a.target, 1, x, y, static_cast<float>(bgr[1]) * unit);
  store_value(a.target, 2, x, y, static_cast<float>(bgr[0]) * unit);
}

}  // namespace

void launch_letterbox(const LetterboxFrame& frame, const LetterboxPlacement& placement, const LetterboxTarget& target,
                      cudaStream_t stream) {
  if (!frame.bgr || frame.width <= 0 || frame.height <= 0 || frame.row_bytes < 3u * static_cast<std::size_t>(frame.width)) {
    throw Error("gpu letterbox: empty frame or row stride below 3 * width");
  }
  if (placement.resized_width <= 0 || placement.resized_height <= 0 || placement.pad_left < 0 || placement.pad_top < 0 ||
      placement.pad_left + placement.resized_width > target.width || placement.pad_top + placement.resized_height > target.height) {
    throw Error("gpu letterbox: the resized image (" + std::to_string(placement.resized_width) + "x" +
                std::to_string(placement.resized_height) + " at " + std::to_string(placement.pad_left) + "," +
                std::to_string(placement.pad_top) + ") does not fit the " + std::to_string(target.width) + "x" +
                std::to_string(target.height) + " target");
  }
  LetterboxArgs a;
  a.frame = frame;
  a.placement = placement;
  a.target = target;
  // OpenCV: scale = 1 / (dst / src), both in double.
  a.scale_x = 1.0 / (static_cast<double>(placement.resized_width) / frame.width);
  a.scale_y = 1.0 / (static_cast<double>(placement.resized_height) / frame.height);
  constexpr unsigned kBlock = 128;
  const dim3 grid((target.width + kBlock - 1) / kBlock, static_cast<unsigned>(target.height));
  letterbox_kernel<<<grid, kBlock, 0, stream>>>(a);
  DETSTREAM_CUDA_CHECK(cudaGetLastError());
}

void HostFrameLetterbox::run(const LetterboxFrame& host_frame, const LetterboxPlacement& placement,
                             const LetterboxTarget& target, cudaStream_t stream) {
  const std::size_t bytes = host_frame.row_bytes * static_cast<std::size_t>(host_frame.height);
  if (frame_.size() < bytes) {
    // The previous frame's copy may still be in flight on `stream`: only free it after.
    DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream));
    frame_ = DeviceBuffer(bytes);
  }
  DETSTREAM_CUDA_CHECK(cudaMemcpyAsync(frame_.get(), host_frame.bgr, bytes, cudaMemcpyHostToDevice, stream));
  LetterboxFrame device_frame = host_frame;
  device_frame.bgr = static_cast<const std::uint8_t*>(frame_.get());
  launch_letterbox(device_frame, placement, target, stream);
}

}  // namespace detstream::inference::cuda
