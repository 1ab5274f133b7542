// Hand-built graphs with explicit shapes for the CUDA backend's tests (no shape inference needed):
// a small builder, and a miniature YOLOv8 that has every pattern of the real one (Conv+SiLU,
// C2f split/add/concat, SPPF max-pools, nearest upsample, the DFL head with reshape, transpose,
// softmax, DFL conv, slices, anchor arithmetic and the final concat), on odd sizes.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "inference/graph/graph.h"
#include "inference/ops/activation.h"

namespace detstream::inference::testing {

class TestGraph {
 public:
  TestGraph() { graph.opset = 20; }

  int input(const std::string& name, Shape shape) {
    const int id = graph.add_value({name, DataType::kFloat32, std::move(shape), nullptr});
    graph.inputs.push_back(id);
    return id;
  }
  int constant(const std::string& name, Tensor tensor) {
    Value v{name, tensor.dtype(), tensor.shape(), nullptr};
    v.constant = std::make_shared<const Tensor>(std::move(tensor));
    return graph.add_value(std::move(v));
  }
  int random(const std::string& name, const Shape& shape, float scale = 1.0f) {
    std::vector<float> values(static_cast<std::size_t>(element_count(shape)));
    std::uniform_real_distribution<float> dist(-scale, scale);
    for (float& v : values) v = dist(rng_);
    return constant(name, Tensor::from_float(values, shape));
  }
  int ints(const std::string& name, const std::vector<std::int64_t>& values) {
    return constant(name, Tensor::from_int64(values, {static_cast<std::int64_t>(values.size())}));
  }
  std::vector<int> node(const std::string& op, const std::vector<int>& inputs, const std::vector<Shape>& shapes,
                        Attributes attributes = {}) {
    Node n;
    n.name = op + "_" + std::to_string(graph.nodes.size());
    n.op_type = op;
    n.opset = graph.opset;
    n.inputs = inputs;
    n.attributes = std::move(attributes);
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      n.outputs.push_back(graph.add_value({n.name + "_out" + std::to_string(k), DataType::kFloat32, shapes[k], nullptr}));
    }
    graph.nodes.push_back(n);
    return graph.nodes.back().outputs;
  }
  int op(const std::string& type, const std::vector<int>& inputs, const Shape& shape, Attributes attributes = {}) {
    return node(type, inputs, {shape}, std::move(attributes))[0];
  }
  // Conv with bias, "same" padding for odd kernels, optional fused SiLU.
  int conv(int x, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride, bool silu) {
    const Shape& in = graph.value(x).shape;
    const std::int64_t pad = kernel / 2;
    const Shape out{in[0], out_channels, (in[2] + 2 * pad - kernel) / stride + 1, (in[3] + 2 * pad - kernel) / stride + 1};
    const float scale = 1.0f / static_cast<float>(in[1] * kernel * kernel);
    const int w = random("w" + std::to_string(graph.values.size()), {out_channels, in[1], kernel, kernel}, 2.0f * std::sqrt(scale));
    const int b = random("b" + std::to_string(graph.values.size()), {out_channels}, 0.2f);
    Attributes a{{"kernel_shape", Attribute::of_ints({kernel, kernel})},
                 {"strides", Attribute::of_ints({stride, stride})},
                 {"pads", Attribute::of_ints({pad, pad, pad, pad})}};
    if (silu) a["activation"] = Attribute::of_string("silu");
    return op("Conv", {x, w, b}, out, a);
  }
  void output(int id) { graph.outputs.push_back(id); }

  Graph graph;

 private:
  std::mt19937 rng_{12345};
};

// Miniature YOLOv8: input N x 3 x 12 x 10, output N x 7 x 120 (4 box + 3 class rows). Channel
// counts are odd multiples of `width` (width 8 makes them multiples of 8, as in real models).
inline Graph mini_yolo(std::int64_t n, std::int64_t width = 1) {
  TestGraph t;
  const std::int64_t k = width;
  const int x = t.input("images", {n, 3, 12, 10});
  const int c0 = t.conv(x, 8 * k, 3, 2, true);                   // n x 8k x 6 x 5
  const int c1 = t.conv(c0, 10 * k, 1, 1, true);                 // C2f: cv1
  const auto halves = t.node("Split", {c1, t.ints("split", {5 * k, 5 * k})}, {{n, 5 * k, 6, 5}, {n, 5 * k, 6, 5}},
                             {{"axis", Attribute::of_int(1)}});
  const int m = t.conv(halves[1], 5 * k, 3, 1, true);
  const int sum = t.op("Add", {halves[1], m}, {n, 5 * k, 6, 5});
  const int cat = t.op("Concat", {halves[0], halves[1], sum}, {n, 15 * k, 6, 5}, {{"axis", Attribute::of_int(1)}});
  const int c2 = t.conv(cat, 6 * k, 1, 1, true);
  Attributes pool{{"kernel_shape", Attribute::of_ints({5, 5})}, {"strides", Attribute::of_ints({1, 1})},
                  {"pads", Attribute::of_ints({2, 2, 2, 2})}};
  const int p1 = t.op("MaxPool", {c2}, {n, 6 * k, 6, 5}, pool);  // SPPF
  const int p2 = t.op("MaxPool", {p1}, {n, 6 * k, 6, 5}, pool);
  const int sp = t.op("Concat", {c2, p1, p2}, {n, 18 * k, 6, 5}, {{"axis", Attribute::of_int(1)}});
  const int c3 = t.conv(sp, 8 * k, 1, 1, true);
  const int scales = t.constant("scales", Tensor::from_float({1, 1, 2, 2}, {4}));
  const int up = t.op("Resize", {c3, kNoValue, scales}, {n, 8 * k, 12, 10},
                      {{"mode", Attribute::of_string("nearest")},
                       {"coordinate_transformation_mode", Attribute::of_string("asymmetric")},
                       {"nearest_mode", Attribute::of_string("floor")}});
  const int hi = t.conv(x, 4 * k, 3, 1, true);
  const int cat2 = t.op("Concat", {up, hi}, {n, 12 * k, 12, 10}, {{"axis", Attribute::of_int(1)}});
  const int box = t.conv(cat2, 16, 1, 1, false);                 // 4 sides x 4 bins
  const int cls = t.conv(cat2, 3, 1, 1, false);
  const int rb = t.op("Reshape", {box, t.ints("s1", {n, 16, 120})}, {n, 16, 120});
  const int rc = t.op("Reshape", {cls, t.ints("s2", {n, 3, 120})}, {n, 3, 120});
  const int r4 = t.op("Reshape", {rb, t.ints("s3", {n, 4, 4, 120})}, {n, 4, 4, 120});
  const int tr = t.op("Transpose", {r4}, {n, 4, 4, 120}, {{"perm", Attribute::of_ints({0, 2, 1, 3})}});
  const int sm = t.op("Softmax", {tr}, {n, 4, 4, 120}, {{"axis", Attribute::of_int(1)}});
  const int bins = t.constant("bins", Tensor::from_float({0, 1, 2, 3}, {1, 4, 1, 1}));
  const int dfl = t.op("Conv", {sm, bins}, {n, 1, 4, 120}, {{"kernel_shape", Attribute::of_ints({1, 1})}});
  const int d = t.op("Reshape", {dfl, t.ints("s4", {n, 4, 120})}, {n, 4, 120});
  const int lt = t.op("Slice", {d, t.ints("b0", {0}), t.ints("e0", {2}), t.ints("a0", {1})}, {n, 2, 120});
  const int rbx = t.op("Slice", {d, t.ints("b1", {2}), t.ints("e1", {4}), t.ints("a1", {1})}, {n, 2, 120});
  std::vector<float> anchor_values(240), stride_values(120);
  for (int i = 0; i < 120; ++i) {
    anchor_values[static_cast<std::size_t>(i)] = static_cast<float>(i % 10) + 0.5f;
    anchor_values[static_cast<std::size_t>(120 + i)] = static_cast<float>(i / 10) + 0.5f;
    stride_values[static_cast<std::size_t>(i)] = i < 60 ? 8.0f : 16.0f;
  }
  const int anchors = t.constant("anchors", Tensor::from_float(anchor_values, {1, 2, 120}));
  const int x1y1 = t.op("Sub", {anchors, lt}, {n, 2, 120});
  const int x2y2 = t.op("Add", {anchors, rbx}, {n, 2, 120});
  const int two = t.constant("two", Tensor::from_float({2.0f}, {1}));
  const int cxy = t.op("Div", {t.op("Add", {x1y1, x2y2}, {n, 2, 120}), two}, {n, 2, 120});
  const int wh = t.op("Sub", {x2y2, x1y1}, {n, 2, 120});
  const int dbox = t.op("Concat", {cxy, wh}, {n, 4, 120}, {{"axis", Attribute::of_int(1)}});
  const int scaled = t.op("Mul", {dbox, t.constant("strides", Tensor::from_float(stride_values, {1, 120}))}, {n, 4, 120});
  const int sig = t.op("Sigmoid", {rc}, {n, 3, 120});
  t.output(t.op("Concat", {scaled, sig}, {n, 7, 120}, {{"axis", Attribute::of_int(1)}}));
  return t.graph;
}

}  // namespace detstream::inference::testing
