// Decoder: one image's raw YOLO output block -> final detections in source-image pixels, with
// Ultralytics' non_max_suppression + scale_boxes semantics:
//   candidates: anchors whose best class score > conf (strict), the best class winning ties by
//   lowest id; boxes cx,cy,w,h -> x1,y1,x2,y2; at most max_nms candidates (highest scores) enter
//   class-aware NMS (nms.h); at most max_det survive; boxes then lose the letterbox pad, are
//   divided by the scale and clipped to [0, W] x [0, H] of the source image.
// Ownership/threading: a Decoder owns scratch sized for one layout at construction; decode() does
// not allocate. decode_candidates() takes candidates filtered elsewhere (a GPU) and does the rest. One Decoder per thread; the returned span is valid until the next decode().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "postprocess/detection.h"
#include "postprocess/letterbox_geometry.h"
#include "postprocess/nms.h"
#include "postprocess/yolo_output.h"

namespace detstream::postprocess {

struct DecodeOptions {
  float conf_threshold = 0.25f;
  float iou_threshold = 0.7f;
  int max_det = 300;
  int max_nms = 30000;
  bool class_agnostic = false;
};

class Decoder {
 public:
  // Throws inference::Error for a non-positive max_det/max_nms or thresholds outside [0, 1].
  Decoder(const YoloOutputLayout& layout, DecodeOptions options = {});

  const YoloOutputLayout& layout() const { return layout_; }
  const DecodeOptions& options() const { return options_; }

  // `predictions`: one image's (4 + nc) x N block (layout().image_stride() floats).
  std::span<const Detection> decode(const float* predictions, const LetterboxGeometry& geometry);
  // The same, boxes left in model-input pixels (no unpad, unscale or clip).
  std::span<const Detection> decode_in_input_space(const float* predictions);

  // The rest of the work when the confidence filter ran elsewhere (a backend's frame path on the
  // GPU): `candidates` are the anchors above the threshold in any order, boxes x1, y1, x2, y2 in
  // input pixels, `order` = the anchor index. They are sorted in place, capped at max_nms, go
  // through NMS and are scaled back: the same detections decode() gives for the predictions they
  // came from. Allocation-free up to layout().num_anchors candidates.
  std::span<const Detection> decode_candidates(std::span<NmsCandidate> candidates, const LetterboxGeometry& geometry);
  std::span<const Detection> decode_candidates_in_input_space(std::span<NmsCandidate> candidates);

 private:
  void find_best_classes(const float* predictions);
  void collect_candidates(const float* predictions);
  std::size_t suppress(std::span<NmsCandidate> candidates);  // sorts, caps at max_nms, NMS

  YoloOutputLayout layout_;
  DecodeOptions options_;
  std::vector<float> best_score_;        // per anchor
  std::vector<std::int32_t> best_class_; // per anchor
  std::vector<NmsCandidate> candidates_;
  std::vector<std::uint8_t> suppressed_;
  std::vector<Detection> detections_;
};

// Maps a box from model-input pixels to source pixels (scale_boxes + clip_boxes).
Box scale_box_to_source(const Box& box, const LetterboxGeometry& geometry);

}  // namespace detstream::postprocess
