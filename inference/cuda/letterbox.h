// GPU letterbox: one BGR uint8 frame -> one image of the model's input, as Ultralytics prepares
// it (LetterBox(auto=False, scaleup=True, center=True)): OpenCV's INTER_LINEAR resize of 8-bit
// images (same source coordinates, 11-bit fixed-point weights, result rounded back to 8 bits),
// grey 114 padding, BGR -> RGB, x * (1/255), then NCHW or NHWC in fp32 or fp16. One launch.
// Where the resized image lands comes from postprocess::compute_letterbox_geometry (the caller
// copies resized size and pad into LetterboxPlacement), so the CPU and GPU paths share it.
// Frames in device memory go straight to the kernel; HostFrameLetterbox first copies a host frame
// (pinned memory makes that copy asynchronous) into a device buffer it keeps and grows only when
// a larger frame arrives, so a steady stream does not allocate. One HostFrameLetterbox per
// stream/thread. CUDA-only: part of inference/cuda/.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "inference/cuda/device_memory.h"

namespace detstream::inference::cuda {

struct LetterboxFrame {
  const std::uint8_t* bgr = nullptr;  // 3 bytes a pixel, B G R
  int width = 0, height = 0;
  std::size_t row_bytes = 0;  // >= 3 * width
};

struct LetterboxPlacement {
  int resized_width = 0, resized_height = 0;  // round(w * r), round(h * r)
  int pad_left = 0, pad_top = 0;
};

enum class ImageLayout { kNchw, kNhwc };

struct LetterboxTarget {
  void* data = nullptr;  // device memory of one image: 3 x height x width values
  int width = 0, height = 0;
  ImageLayout layout = ImageLayout::kNchw;
  bool fp16 = false;
};

// Throws Error for sizes that do not fit (placement outside the target, empty frame).
void launch_letterbox(const LetterboxFrame& device_frame, const LetterboxPlacement& placement, const LetterboxTarget& target,
                      cudaStream_t stream);

class HostFrameLetterbox {
 public:
  void run(const LetterboxFrame& host_frame, const LetterboxPlacement& placement, const LetterboxTarget& target,
           cudaStream_t stream);

 private:
  DeviceBuffer frame_;
};

}  // namespace detstream::inference::cuda
