// WorkItem: everything one frame carries through the stages. Items are recycled (the sink hands
// them back to capture through an ItemPool), so the tensors, detection list and frame pixels
// keep their storage and the steady state allocates nothing.
#pragma once

#include <memory>
#include <vector>

#include "pipeline/core/bounded_queue.h"
#include "pipeline/core/frame.h"
#include "postprocess/detection.h"
#include "postprocess/letterbox_geometry.h"
#include "postprocess/nms.h"

namespace detstream::pipeline {

struct WorkItem {
  Frame frame;
  postprocess::LetterboxGeometry geometry;
  std::vector<float> input;    // host path: the model input for this frame (3 x H x W)
  std::vector<float> output;   // host path: the model's raw output for this frame
  std::vector<postprocess::NmsCandidate> candidates;  // frame path: what the backend's filter kept
  std::vector<postprocess::Detection> detections;
};

using ItemPtr = std::unique_ptr<WorkItem>;
using ItemQueue = BoundedQueue<ItemPtr>;

// Free list of finished items. take() never blocks: a fresh item is made when none is free.
class ItemPool {
 public:
  explicit ItemPool(std::size_t capacity) : free_(capacity, OverflowPolicy::kDropOldest) {}
  ItemPtr take() {
    if (auto item = free_.pop_for(std::chrono::seconds(0))) return std::move(item->value);
    return std::make_unique<WorkItem>();
  }
  void give_back(ItemPtr item) { free_.push(std::move(item)); }

 private:
  ItemQueue free_;
};

}  // namespace detstream::pipeline
