#include "postprocess/nms.h"

#include <algorithm>
#include <cassert>

namespace detstream::postprocess {

void sort_candidates(std::span<NmsCandidate> candidates) {
  std::sort(candidates.begin(), candidates.end(), [](const NmsCandidate& a, const NmsCandidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.order < b.order;
  });
}

namespace {

// The box NMS compares: shifted by the class offset, in float32 like Ultralytics' `boxes + c`.
Box offset_box(const NmsCandidate& c, const NmsOptions& options) {
  const float offset = options.class_agnostic ? 0.0f : static_cast<float>(c.class_id) * options.max_wh;
  return {c.box.x1 + offset, c.box.y1 + offset, c.box.x2 + offset, c.box.y2 + offset};
}

// torchvision's CPU kernel: plain (x2 - x1) * (y2 - y1) areas, clamped overlap, inter / union.
float torchvision_iou(const Box& a, float area_a, const Box& b) {
  const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = w * h;
  const float area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  return inter / (area_a + area_b - inter);
}

}  // namespace

std::size_t nms_sorted(std::span<NmsCandidate> candidates, const NmsOptions& options,
                       std::span<std::uint8_t> suppressed) {
  assert(suppressed.size() >= candidates.size());
  const std::size_t n = candidates.size();
  std::fill_n(suppressed.begin(), n, std::uint8_t{0});
  const std::size_t max_keep = options.max_keep < 0 ? n : static_cast<std::size_t>(options.max_keep);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n && kept < max_keep; ++i) {
    if (suppressed[i]) continue;
    const NmsCandidate current = candidates[i];
    const Box a = offset_box(current, options);
    const float area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
    for (std::size_t j = i + 1; j < n; ++j) {
      if (suppressed[j]) continue;
      // NaN IoU (two empty boxes) compares false: kept, as in torchvision.
      if (torchvision_iou(a, area_a, offset_box(candidates[j], options)) > options.iou_threshold) suppressed[j] = 1;
    }
    // kept <= i, and slots before i are never read again: compacting in place is safe.
    candidates[kept++] = current;
  }
  return kept;
}

}  // namespace detstream::postprocess
