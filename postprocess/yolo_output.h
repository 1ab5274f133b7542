// The layout of a YOLOv8/YOLO11 detection head's raw output: (B, 4 + nc, N) float32, channel
// major: rows 0..3 are the box (cx, cy, w, h in input pixels), rows 4.. the per-class scores
// (already sigmoid'ed in Ultralytics exports), N anchors along the last axis. Anything else
// (segmentation/pose heads, end-to-end NMS exports, transposed outputs) is refused here with a
// message that says what was expected. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "inference/core/shape.h"

namespace detstream::postprocess {

struct YoloOutputLayout {
  std::int64_t batch = 0;
  int num_classes = 0;
  std::int64_t num_anchors = 0;

  std::int64_t channels() const { return 4 + num_classes; }
  // Floats in one image's block of the output.
  std::int64_t image_stride() const { return channels() * num_anchors; }
};

// `expected_classes`: the class count the model's metadata declares, when it declares one; a
// mismatch with the output's channel count is an error (e.g. a segmentation head). Throws
// inference::Error naming `output_name`, the shape and what was expected.
YoloOutputLayout describe_yolo_output(const inference::Shape& shape, std::optional<int> expected_classes,
                                      const std::string& output_name = "output");

}  // namespace detstream::postprocess
