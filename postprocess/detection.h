// Detection: one object found in one image: class, confidence and an axis-aligned box
// (x1, y1, x2, y2) in pixels of whatever image space the producer states (the decoder returns
// source-image pixels). Plain value types; no invariants beyond x1 <= x2, y1 <= y2 for boxes the
// decoder produces.
#pragma once

#include <algorithm>

namespace detstream::postprocess {

struct Box {
  float x1 = 0.0f;
  float y1 = 0.0f;
  float x2 = 0.0f;
  float y2 = 0.0f;

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  // Zero for degenerate (inverted or empty) boxes.
  float area() const { return (x2 > x1 && y2 > y1) ? (x2 - x1) * (y2 - y1) : 0.0f; }
};

struct Detection {
  int class_id = 0;
  float confidence = 0.0f;
  Box box;
};

// Intersection over union, 0 when the union is empty. The NMS uses its own torchvision-exact
// arithmetic; this is the general-purpose version (tests, tracking, comparisons). Inline so that
// code linking only the engine (the app tests) can use it.
inline float iou(const Box& a, const Box& b) {
  const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = w * h;
  const float uni = a.area() + b.area() - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

}  // namespace detstream::postprocess
