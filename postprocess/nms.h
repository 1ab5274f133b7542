// Class-aware non-maximum suppression with Ultralytics/torchvision semantics: candidates sorted by
// score (descending; equal scores keep their input order), each kept box suppresses every later
// box whose IoU with it is strictly greater than the threshold (IoU == threshold is kept). Class
// awareness is Ultralytics' trick: boxes are offset by class_id * max_wh (7680) so that boxes of
// different classes never overlap; the offset is applied in float32 exactly as Ultralytics does.
// Allocation-free: works in place on the caller's span with the caller's scratch. Thread-safe for
// distinct spans.
#pragma once

#include <cstdint>
#include <span>

#include "postprocess/detection.h"

namespace detstream::postprocess {

inline constexpr float kUltralyticsMaxWh = 7680.0f;

struct NmsCandidate {
  Box box;            // x1, y1, x2, y2
  float score = 0.0f;
  int class_id = 0;
  int order = 0;      // tie-break for equal scores (e.g. the anchor index): lower first
};

struct NmsOptions {
  float iou_threshold = 0.7f;
  int max_keep = 300;          // stop once this many are kept (the greedy order makes this exact)
  bool class_agnostic = false;
  float max_wh = kUltralyticsMaxWh;
};

// Sorts `candidates` by (score desc, order asc). Separate so that callers can cap the list first
// (Ultralytics' max_nms) without sorting twice.
void sort_candidates(std::span<NmsCandidate> candidates);

// Expects `candidates` sorted by sort_candidates. Moves the kept candidates, in score order, to
// the front and returns how many were kept. `suppressed` needs candidates.size() bytes.
std::size_t nms_sorted(std::span<NmsCandidate> candidates, const NmsOptions& options,
                       std::span<std::uint8_t> suppressed);

}  // namespace detstream::postprocess
