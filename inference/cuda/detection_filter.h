// GPU decode + confidence filter of a YOLOv8 head's output, so that only candidates travel back
// to the host: for every anchor of every image, the best class (the lowest id wins ties, as
// torch.max and postprocess::Decoder do) and, when its score is strictly above the threshold, the
// box as x1, y1, x2, y2 in input pixels (cx -+ w/2, cy -+ h/2). Candidates are appended in no
// particular order (atomics); `anchor` says where each came from, so the host can sort them
// (postprocess::sort_candidates) and run NMS on a few hundred boxes instead of 8400 x 84 floats.
// An image with more candidates than `capacity` keeps `capacity` of them and its count says how
// many there were. CUDA-only: part of inference/cuda/.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace detstream::inference::cuda {

struct DetectionCandidate {
  float x1, y1, x2, y2;
  float score;
  int class_id;
  int anchor;
};

struct DetectionFilterArgs {
  const float* predictions = nullptr;  // device: batch x (4 + classes) x anchors, float32, row-major
  int batch = 1, classes = 0, anchors = 0;
  float conf_threshold = 0.25f;
  DetectionCandidate* candidates = nullptr;  // device: batch x capacity
  unsigned* counts = nullptr;                // device: batch (zeroed by the launch itself)
  int capacity = 0;
};

// Enqueues the zeroing of `counts` and the filter on `stream`; throws Error for bad sizes.
void launch_detection_filter(const DetectionFilterArgs& args, cudaStream_t stream);

}  // namespace detstream::inference::cuda
