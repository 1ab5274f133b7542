// The fused tail of a YOLO detection head (head_fusion.h says what it replaces): one kernel reads
// each stride level's box and class maps where the convolutions left them (any float type and
// strides: NHWC fp16 or fp32 in the arena) and writes the (N, 4 + classes, anchors) output:
// per anchor, a softmax over the bins of each of the 4 box sides, its expectation (the DFL),
// the box centre and size around the anchor times the level's stride, and the sigmoid of every
// class logit. Arithmetic in float32. The launcher only enqueues on `stream` (no allocation, no
// synchronisation; capturable in a CUDA graph). Internal to inference/cuda/.
#pragma once

#include <cuda_runtime_api.h>

#include "inference/cuda/kernels.h"

namespace detstream::inference::cuda {

inline constexpr int kDetectHeadMaxLevels = 8;
inline constexpr int kDetectHeadMaxBins = 32;

struct DetectHeadLevelParams {
  StridedOperand box, cls;  // strides over N, C, H, W; box C = 4 * bins (side-major), cls C = classes
  int height = 0, width = 0;
  int first_anchor = 0;  // output anchor of cell (0, 0)
  float stride = 0.0f;
  // Set by launch_detect_head: fp16 with channel stride 1 and 16-byte aligned pixels, so a
  // thread reads 8 channels per load (box with 16 bins; classes in runs of 16).
  bool box_vector8 = false, cls_vector8 = false;
};

struct DetectHeadParams {
  int batch = 0, anchors = 0, classes = 0, bins = 0, levels = 0;
  DetectHeadLevelParams level[kDetectHeadMaxLevels];
  float bin_weights[kDetectHeadMaxBins] = {};
  float anchor_offset = 0.5f;  // anchor of cell (h, w) = (w + offset, h + offset)
  float divisor = 2.0f;        // centre = (x1 + x2) / divisor
  StridedOperand y;            // strides over N, 4 + classes, anchors
};

// The host checks that batch * (4 + classes) * anchors and every offset stay below 2^31.
void launch_detect_head(const DetectHeadParams& params, cudaStream_t stream);

}  // namespace detstream::inference::cuda
