#include "postprocess/decoder.h"

#include <algorithm>
#include <string>

#include "inference/core/error.h"

namespace detstream::postprocess {

namespace {

void check_options(const DecodeOptions& o) {
  auto in_unit = [](float v) { return v >= 0.0f && v <= 1.0f; };
  if (!in_unit(o.conf_threshold)) {
    throw inference::Error("confidence threshold must be in [0, 1], got " + std::to_string(o.conf_threshold));
  }
  if (!in_unit(o.iou_threshold)) {
    throw inference::Error("IoU threshold must be in [0, 1], got " + std::to_string(o.iou_threshold));
  }
  if (o.max_det < 1) throw inference::Error("max_det must be at least 1, got " + std::to_string(o.max_det));
  if (o.max_nms < 1) throw inference::Error("max_nms must be at least 1, got " + std::to_string(o.max_nms));
}

}  // namespace

Decoder::Decoder(const YoloOutputLayout& layout, DecodeOptions options) : layout_(layout), options_(options) {
  check_options(options_);
  if (layout_.num_classes < 1 || layout_.num_anchors < 1) {
    throw inference::Error("decoder: layout needs at least one class and one anchor");
  }
  const auto anchors = static_cast<std::size_t>(layout_.num_anchors);
  best_score_.resize(anchors);
  best_class_.resize(anchors);
  candidates_.reserve(anchors);
  suppressed_.resize(anchors);
  detections_.reserve(static_cast<std::size_t>(options_.max_det));
}

// Class-major sweep: each class row is contiguous, so this streams the block once and vectorises.
void Decoder::find_best_classes(const float* predictions) {
  const std::int64_t n = layout_.num_anchors;
  const float* scores = predictions + 4 * n;
  std::copy_n(scores, n, best_score_.data());
  std::fill(best_class_.begin(), best_class_.end(), 0);
  for (int c = 1; c < layout_.num_classes; ++c) {
    const float* row = scores + c * n;
    for (std::int64_t i = 0; i < n; ++i) {
      // Strict: the lowest class id wins ties, as torch.max does.
      const bool better = row[i] > best_score_[i];
      best_score_[i] = better ? row[i] : best_score_[i];
      best_class_[i] = better ? c : best_class_[i];
    }
  }
}

void Decoder::collect_candidates(const float* predictions) {
  const std::int64_t n = layout_.num_anchors;
  const float* cx = predictions;
  const float* cy = predictions + n;
  const float* w = predictions + 2 * n;
  const float* h = predictions + 3 * n;
  candidates_.clear();
  for (std::int64_t i = 0; i < n; ++i) {
    if (!(best_score_[i] > options_.conf_threshold)) continue;
    const float half_w = w[i] / 2.0f;
    const float half_h = h[i] / 2.0f;
    NmsCandidate c;
    c.box = {cx[i] - half_w, cy[i] - half_h, cx[i] + half_w, cy[i] + half_h};
    c.score = best_score_[i];
    c.class_id = best_class_[i];
    c.order = static_cast<int>(i);
    candidates_.push_back(c);  // within the reserved capacity: no allocation
  }
}

std::size_t Decoder::suppress(std::span<NmsCandidate> candidates) {
  sort_candidates(candidates);
  const std::size_t count = std::min(candidates.size(), static_cast<std::size_t>(options_.max_nms));
  NmsOptions nms;
  nms.iou_threshold = options_.iou_threshold;
  nms.max_keep = options_.max_det;
  nms.class_agnostic = options_.class_agnostic;
  if (suppressed_.size() < count) suppressed_.resize(count);  // only for more candidates than anchors
  return nms_sorted(candidates.first(count), nms, suppressed_);
}

std::span<const Detection> Decoder::decode_in_input_space(const float* predictions) {
  find_best_classes(predictions);
  collect_candidates(predictions);
  return decode_candidates_in_input_space(candidates_);
}

std::span<const Detection> Decoder::decode(const float* predictions, const LetterboxGeometry& geometry) {
  decode_in_input_space(predictions);
  for (Detection& d : detections_) d.box = scale_box_to_source(d.box, geometry);
  return detections_;
}

std::span<const Detection> Decoder::decode_candidates_in_input_space(std::span<NmsCandidate> candidates) {
  const std::size_t kept = suppress(candidates);
  detections_.clear();
  for (std::size_t k = 0; k < kept; ++k) {
    const NmsCandidate& c = candidates[k];
    detections_.push_back({c.class_id, c.score, c.box});
  }
  return detections_;
}

std::span<const Detection> Decoder::decode_candidates(std::span<NmsCandidate> candidates, const LetterboxGeometry& geometry) {
  decode_candidates_in_input_space(candidates);
  for (Detection& d : detections_) d.box = scale_box_to_source(d.box, geometry);
  return detections_;
}

Box scale_box_to_source(const Box& box, const LetterboxGeometry& g) {
  const float gain = static_cast<float>(g.scale);
  const float pad_x = static_cast<float>(g.unpad_x);
  const float pad_y = static_cast<float>(g.unpad_y);
  const float max_x = static_cast<float>(g.source_width);
  const float max_y = static_cast<float>(g.source_height);
  return {std::clamp((box.x1 - pad_x) / gain, 0.0f, max_x), std::clamp((box.y1 - pad_y) / gain, 0.0f, max_y),
          std::clamp((box.x2 - pad_x) / gain, 0.0f, max_x), std::clamp((box.y2 - pad_y) / gain, 0.0f, max_y)};
}

}  // namespace detstream::postprocess
