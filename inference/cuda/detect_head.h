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

// The last level's final 1x1 convolutions (no activation), computed by the same launch: its
// level[levels - 1].box and .cls are then those convolutions' inputs (box_channels and
// cls_channels deep). `pack` holds, in fp32, the box weights input-channel major
// ([c][4 * bins]: a warp's lanes read consecutive outputs), the class weights ([c][classes]), the
// box biases and the class biases (zeros where there are none), then zeros up to a multiple of 4
// floats (folded_head_pack_floats). Limits: bins == kFoldedDetectBins, classes <=
// kFoldedDetectMaxClasses, inputs of at most kFoldedDetectMaxChannels, weights within
// kFoldedDetectMaxWeightBytes (head_fusion.h holds the lowering's copy). A warp per pixel, float32
// throughout: the logits are not rounded to fp16 as the convolutions' outputs are.
inline constexpr int kFoldedDetectBins = 16;
inline constexpr int kFoldedDetectMaxClasses = 128;
inline constexpr int kFoldedDetectMaxChannels = 512;
inline constexpr int kFoldedDetectMaxWeightBytes = 48 * 1024;
struct FoldedHeadConvs {
  const float* pack = nullptr;
  int box_channels = 0, cls_channels = 0;
};
__host__ __device__ constexpr int folded_head_pack_floats(int box_channels, int cls_channels, int classes) {
  return (box_channels * 4 * kFoldedDetectBins + cls_channels * classes + 4 * kFoldedDetectBins + classes + 3) / 4 * 4;
}
void launch_detect_head_folded(const DetectHeadParams& params, const FoldedHeadConvs& convs, cudaStream_t stream);

}  // namespace detstream::inference::cuda
