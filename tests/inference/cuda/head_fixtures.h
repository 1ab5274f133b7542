// A miniature YOLO detection head for the fused-head tests (head_fusion.h, detect_head.h): three
// stride levels of an N x 3 x 16 x 20 image (8x10, 4x5 and 2x3 cells: 106 anchors), each with a
// box and a class convolution, then the export's tail exactly as Ultralytics writes it (YOLOv8's
// DFL chain, or YOLO11's with two transposes), with grid anchors and per-level strides as
// constants. Explicit shapes, no shape inference needed.
#pragma once

#include <string>
#include <vector>

#include "graph_fixtures.h"

namespace detstream::inference::testing {

struct MiniHeadOptions {
  std::int64_t batch = 1;
  std::int64_t classes = 3;
  std::int64_t bins = 16;
  bool yolo11_dfl = false;  // Transpose(0,3,1,2) -> Softmax(axis 3) -> Transpose(0,3,2,1)
};

inline Graph mini_head(const MiniHeadOptions& o) {
  TestGraph t;
  const std::int64_t n = o.batch, nc = o.classes, bins = o.bins;
  const int x = t.input("images", {n, 3, 16, 20});
  const int p1 = t.conv(x, 8, 3, 2, true);   // 8 x 10, stride 2
  const int p2 = t.conv(p1, 8, 3, 2, true);  // 4 x 5, stride 4
  const int p3 = t.conv(p2, 8, 3, 2, true);  // 2 x 3, stride 8
  const Attributes last{{"axis", Attribute::of_int(-1)}};
  std::vector<int> boxes, scores;
  std::vector<float> ax, ay, strides;
  std::int64_t anchors = 0;
  float stride = 2.0f;
  for (int level : {p1, p2, p3}) {
    const Shape s = t.graph.value(level).shape;  // a copy: adding values below may move it
    const std::int64_t cells = s[2] * s[3];
    const int box = t.conv(level, 4 * bins, 1, 1, false);
    const int cls = t.conv(level, nc, 1, 1, false);
    boxes.push_back(
        t.op("Reshape", {box, t.ints("box_shape" + std::to_string(anchors), {n, 4 * bins, -1})}, {n, 4 * bins, cells}));
    scores.push_back(
        t.op("Reshape", {cls, t.ints("cls_shape" + std::to_string(anchors), {n, nc, -1})}, {n, nc, cells}));
    for (std::int64_t h = 0; h < s[2]; ++h)
      for (std::int64_t w = 0; w < s[3]; ++w) {
        ax.push_back(static_cast<float>(w) + 0.5f);
        ay.push_back(static_cast<float>(h) + 0.5f);
        strides.push_back(stride);
      }
    anchors += cells;
    stride *= 2.0f;
  }
  const std::int64_t a = anchors;
  const int box_cat = t.op("Concat", boxes, {n, 4 * bins, a}, last);
  const int cls_cat = t.op("Concat", scores, {n, nc, a}, last);
  const int grouped = t.op("Reshape", {box_cat, t.ints("dfl_shape", {n, 4, bins, a})}, {n, 4, bins, a});
  int probabilities = kNoValue;
  if (o.yolo11_dfl) {
    const int tr = t.op("Transpose", {grouped}, {n, a, 4, bins}, {{"perm", Attribute::of_ints({0, 3, 1, 2})}});
    const int sm = t.op("Softmax", {tr}, {n, a, 4, bins}, {{"axis", Attribute::of_int(3)}});
    probabilities = t.op("Transpose", {sm}, {n, bins, 4, a}, {{"perm", Attribute::of_ints({0, 3, 2, 1})}});
  } else {
    const int tr = t.op("Transpose", {grouped}, {n, bins, 4, a}, {{"perm", Attribute::of_ints({0, 2, 1, 3})}});
    probabilities = t.op("Softmax", {tr}, {n, bins, 4, a}, {{"axis", Attribute::of_int(1)}});
  }
  std::vector<float> weights(static_cast<std::size_t>(bins));
  for (std::size_t k = 0; k < weights.size(); ++k) weights[k] = static_cast<float>(k);
  const int expectation =
      t.op("Conv", {probabilities, t.constant("dfl_weight", Tensor::from_float(weights, {1, bins, 1, 1}))},
           {n, 1, 4, a}, {{"kernel_shape", Attribute::of_ints({1, 1})}});
  const int d = t.op("Reshape", {expectation, t.ints("dist_shape", {n, 4, a})}, {n, 4, a});
  const int lt = t.op("Slice", {d, t.ints("s0", {0}), t.ints("e0", {2}), t.ints("a0", {1})}, {n, 2, a});
  const int rb = t.op("Slice", {d, t.ints("s1", {2}), t.ints("e1", {4}), t.ints("a1", {1})}, {n, 2, a});
  std::vector<float> grid = ax;
  grid.insert(grid.end(), ay.begin(), ay.end());
  const int x1y1 = t.op("Sub", {t.constant("anchors_a", Tensor::from_float(grid, {1, 2, a})), lt}, {n, 2, a});
  const int x2y2 = t.op("Add", {t.constant("anchors_b", Tensor::from_float(grid, {1, 2, a})), rb}, {n, 2, a});
  const int sum = t.op("Add", {x1y1, x2y2}, {n, 2, a});
  const int size = t.op("Sub", {x2y2, x1y1}, {n, 2, a});
  const int centre = t.op("Div", {sum, t.constant("two", Tensor::from_float({2.0f}, {}))}, {n, 2, a});
  const int box = t.op("Concat", {centre, size}, {n, 4, a}, {{"axis", Attribute::of_int(1)}});
  const int scaled = t.op("Mul", {box, t.constant("strides", Tensor::from_float(strides, {1, a}))}, {n, 4, a});
  const int sig = t.op("Sigmoid", {cls_cat}, {n, nc, a});
  t.output(t.op("Concat", {scaled, sig}, {n, 4 + nc, a}, {{"axis", Attribute::of_int(1)}}));
  return t.graph;
}

}  // namespace detstream::inference::testing
