// Recognition of a YOLOv8 / YOLO11 detection head's tail, so that the CUDA lowering can run it as
// one kernel (detect_head.h) instead of ~20 launches. Pure C++ (no CUDA): tested without a GPU.
//
// The tail, per the Ultralytics export, from the final convolutions of every stride level i
// (box_i: N x 4*bins x H_i x W_i, cls_i: N x nc x H_i x W_i) to the output (N, 4+nc, A):
//   Reshape(box_i) -> Concat (N, 4*bins, A) -> Reshape (N, 4, bins, A) -> Transpose/Softmax over
//   the bins -> Conv 1x1 with constant weights (the expectation) -> Reshape (N, 4, A) -> Slice
//   [0:2] = lt, [2:4] = rb -> x1y1 = anchors - lt, x2y2 = anchors + rb -> Concat((x1y1 + x2y2) / k,
//   x2y2 - x1y1) -> Mul(per-anchor strides); Reshape(cls_i) -> Concat -> Sigmoid; Concat of both.
// The anchors and strides are read from the graph's constants and must be the grid the level
// sizes give (anchor of cell (h, w) = (w + offset, h + offset); one stride per level). Anything
// else (other ops, operand orders, axes, constants, an intermediate read outside the tail or
// being a graph output) is no match: the caller then lowers node by node.
// Plain values; thread-safe to read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "inference/graph/graph.h"

namespace detstream::inference::cuda {

// Limits of the fused kernel's parameter block (detect_head.h); larger heads are not matched.
inline constexpr int kHeadMaxLevels = 8;
inline constexpr int kHeadMaxBins = 32;

struct DetectHeadLevel {
  int box = kNoValue;  // value id: N x 4*bins x H x W
  int cls = kNoValue;  // value id: N x classes x H x W
  std::int64_t height = 0, width = 0;
  float stride = 0.0f;  // the stride constant's value over this level's anchors
};

struct DetectHead {
  int output = kNoValue;                // value id of the (N, 4 + classes, anchors) result
  int output_node = -1;                 // the final Concat, where the fused step takes the tail's place
  std::vector<int> nodes;               // every node the fused step replaces, ascending
  std::vector<DetectHeadLevel> levels;  // in anchor order
  std::int64_t batch = 0, classes = 0, anchors = 0;
  std::vector<float> bin_weights;  // the expectation's weights, one per bin (0, 1, ... in exports)
  float anchor_offset = 0.5f;      // anchor of cell (h, w) is (w + offset, h + offset)
  float divisor = 2.0f;            // box centre = (x1y1 + x2y2) / divisor
};

// The head whose final Concat is graph node `node`; nullopt and the first deviation found in
// `why` (when given) otherwise.
std::optional<DetectHead> match_detect_head(const Graph& graph, int node, std::string* why = nullptr);
// Every head of the graph (one in YOLO exports), in node order.
std::vector<DetectHead> find_detect_heads(const Graph& graph);

}  // namespace detstream::inference::cuda
