// Overlay: draws detections onto a BGR image in place, Ultralytics-style: a per-class coloured
// box and a filled label "name 0.91" above it (inside the box when there is no room above),
// kept inside the image. Detections are drawn in reverse order, so with the decoder's
// confidence-sorted output the most confident labels are drawn last (on top).
// Line width and font scale follow the image size unless the style fixes them. Stateless;
// thread-safe for distinct images.
#pragma once

#include <opencv2/core.hpp>

#include <span>

#include "postprocess/class_names.h"
#include "postprocess/detection.h"

namespace detstream::pipeline {

struct OverlayStyle {
  int line_width = 0;         // 0: max(round((H + W) / 2 * 0.003), 2)
  bool show_confidence = true;
  bool show_labels = true;
};

// The BGR colour class `class_id` is drawn in (a fixed 20-colour palette, cycled).
cv::Scalar class_color(int class_id);

// `image`: 8-bit BGR. Boxes in the image's pixels.
void draw_detections(cv::Mat& image, std::span<const postprocess::Detection> detections,
                     const postprocess::ClassNames& names, const OverlayStyle& style = {});

}  // namespace detstream::pipeline
