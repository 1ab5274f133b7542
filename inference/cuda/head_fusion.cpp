#include "inference/cuda/head_fusion.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace detstream::inference::cuda {

namespace {

// Producers and consumers of every value, built once per graph.
struct GraphIndex {
  explicit GraphIndex(const Graph& g) : consumers(g.consumers()) {
    producer.assign(g.values.size(), -1);
    for (std::size_t n = 0; n < g.nodes.size(); ++n)
      for (int id : g.nodes[n].outputs)
        if (id != kNoValue) producer[static_cast<std::size_t>(id)] = static_cast<int>(n);
  }
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers;
};

std::vector<std::int64_t> ints_input_or_attr(const Graph& g, const Node& node, std::size_t input, const char* attr,
                                             bool* ok) {
  if (node.opset >= 10 && input < node.inputs.size()) {
    if (!node.has_input(input)) return {};
    const Value& v = g.value(node.inputs[input]);
    if (!v.is_constant()) {
      *ok = false;
      return {};
    }
    return v.constant->to_int64_vector();
  }
  return node.attr_ints(attr);
}

// Walks the tail backwards from the final Concat (the order of the header's description, read
// from the end). Each take() checks one node and records it; the first deviation ends the walk
// and is kept as the reason.
class HeadMatcher {
 public:
  HeadMatcher(const Graph& graph, const GraphIndex& index) : g_(graph), index_(index) {}

  std::optional<DetectHead> run(int node, std::string* why) {
    const bool matched = match(node);
    if (why) *why = matched ? std::string() : why_;
    if (!matched) return std::nullopt;
    head_.nodes.assign(nodes_.begin(), nodes_.end());
    return head_;
  }

 private:
  bool fail(const std::string& reason) {
    if (why_.empty()) why_ = reason;
    return false;
  }
  const Shape& shape(int id) const { return g_.value(id).shape; }
  std::string name(int id) const { return "'" + g_.value(id).name + "'"; }
  bool is_constant(int id) const { return id != kNoValue && g_.value(id).is_constant(); }
  int axis_of(const Node& node, std::size_t rank) const { return normalize_axis(node.attr_int("axis", 0), rank); }
  bool shape_is(int id, const Shape& expected) {
    return shape(id) == expected ||
           fail("value " + name(id) + " is " + to_string(shape(id)) + ", expected " + to_string(expected));
  }

  // The producer of `id` if it is a plain (no fused activation) `op` with one float32 output;
  // recorded as part of the tail.
  const Node* take(int id, const char* op) {
    const int p = id == kNoValue ? -1 : index_.producer[static_cast<std::size_t>(id)];
    if (p < 0 || g_.nodes[static_cast<std::size_t>(p)].op_type != op) {
      fail("value " + (id == kNoValue ? std::string("(none)") : name(id)) + " is not made by a " + op);
      return nullptr;
    }
    const Node& node = g_.nodes[static_cast<std::size_t>(p)];
    if (node.outputs.size() != 1 || node.has_attribute("activation") || g_.value(id).dtype != DataType::kFloat32) {
      fail(g_.describe(node) + " has extra outputs, a fused activation or a non-float32 output");
      return nullptr;
    }
    nodes_.insert(p);
    return &node;
  }

  // --- the tail, from the output back ---------------------------------------------------------
  bool match(int node) {
    const Node& out = g_.nodes[static_cast<std::size_t>(node)];
    if (out.outputs.size() != 1 || !take(out.outputs[0], "Concat"))
      return fail(g_.describe(out) + " is not a Concat with one output");
    const Shape& y = shape(out.outputs[0]);
    if (y.size() != 3 || out.inputs.size() != 2 || axis_of(out, 3) != 1 || y[1] <= 4) {
      return fail(g_.describe(out) + " does not join boxes and scores on axis 1 of a rank-3 tensor");
    }
    head_.output = out.outputs[0];
    head_.output_node = node;
    head_.batch = y[0];
    head_.classes = y[1] - 4;
    head_.anchors = y[2];
    std::vector<DetectHeadLevel> box_levels, class_levels;
    if (!match_boxes(out.inputs[0], box_levels) || !match_classes(out.inputs[1], class_levels)) return false;
    return pair_levels(box_levels, class_levels) && check_grid() && check_closed();
  }

  // Mul(Concat((x1y1 + x2y2) / k, x2y2 - x1y1), strides) with x1y1 = anchors - lt, x2y2 = anchors + rb.
  bool match_boxes(int id, std::vector<DetectHeadLevel>& levels) {
    const std::int64_t n = head_.batch, a = head_.anchors;
    const Node* mul = take(id, "Mul");
    if (!mul || !shape_is(id, {n, 4, a})) return false;
    const bool first_const = is_constant(mul->inputs[0]);
    const int boxes = mul->inputs[first_const ? 1 : 0];
    strides_ = first_const ? mul->inputs[0] : mul->inputs[1];
    if (!per_anchor(strides_, 1)) return fail(g_.describe(*mul) + ": the strides are not one constant per anchor");
    const Node* cat = take(boxes, "Concat");
    if (!cat || !shape_is(boxes, {n, 4, a}) || cat->inputs.size() != 2 || axis_of(*cat, 3) != 1) {
      return fail("the box Concat does not join centres and sizes on axis 1");
    }
    const Node* div = take(cat->inputs[0], "Div");
    const Node* size = take(cat->inputs[1], "Sub");
    if (!div || !size || !is_constant(div->inputs[1]) || g_.value(div->inputs[1]).constant->count() != 1) {
      return fail("the box centre is not a sum divided by a constant");
    }
    head_.divisor = g_.value(div->inputs[1]).constant->to_float_vector()[0];
    const int x2y2 = size->inputs[0], x1y1 = size->inputs[1];
    const Node* sum = take(div->inputs[0], "Add");
    if (!sum || x1y1 == x2y2 ||
        !((sum->inputs[0] == x1y1 && sum->inputs[1] == x2y2) || (sum->inputs[0] == x2y2 && sum->inputs[1] == x1y1))) {
      return fail("the box centre is not (x1y1 + x2y2) / k");
    }
    int lt = kNoValue, rb = kNoValue;
    return match_corners(x1y1, x2y2, lt, rb) && match_distances(lt, rb, levels);
  }

  // x1y1 = Sub(anchors, lt), x2y2 = Add(anchors, rb) (either order).
  bool match_corners(int x1y1, int x2y2, int& lt, int& rb) {
    const Node* sub = take(x1y1, "Sub");
    const Node* add = take(x2y2, "Add");
    if (!sub || !add || !is_constant(sub->inputs[0]) || is_constant(sub->inputs[1]))
      return fail("x1y1 is not anchors - lt");
    const bool first_const = is_constant(add->inputs[0]);
    if (first_const == is_constant(add->inputs[1])) return fail("x2y2 is not anchors + rb");
    anchors_ = {sub->inputs[0], add->inputs[first_const ? 0 : 1]};
    lt = sub->inputs[1];
    rb = add->inputs[first_const ? 1 : 0];
    const Shape two{head_.batch, 2, head_.anchors};
    for (int id : {x1y1, x2y2, lt, rb})
      if (!shape_is(id, two)) return false;
    for (int anchors : anchors_)
      if (!per_anchor(anchors, 2)) return fail("the anchors are not one constant (x, y) per anchor");
    return true;
  }

  // lt, rb = the two halves of Reshape(Conv_dfl(expectation)) along axis 1.
  bool match_distances(int lt, int rb, std::vector<DetectHeadLevel>& levels) {
    const Node* first = take(lt, "Slice");
    const Node* second = take(rb, "Slice");
    if (!first || !second || first->inputs[0] != second->inputs[0])
      return fail("lt and rb are not slices of one tensor");
    if (!slice_is(*first, 0) || !slice_is(*second, 2)) return fail("lt and rb are not the rows [0, 2) and [2, 4)");
    const int distances = first->inputs[0];
    const Node* reshape = take(distances, "Reshape");
    if (!reshape || !shape_is(distances, {head_.batch, 4, head_.anchors})) return false;
    return match_expectation(reshape->inputs[0], levels);
  }

  // Slice of rows [start, start + 2) on axis 1, step 1.
  bool slice_is(const Node& slice, std::int64_t start) {
    bool ok = true;
    const auto starts = ints_input_or_attr(g_, slice, 1, "starts", &ok);
    const auto axes = ints_input_or_attr(g_, slice, 3, "axes", &ok);
    const auto steps = ints_input_or_attr(g_, slice, 4, "steps", &ok);
    if (!ok || starts.size() != 1 || axes.size() != 1 || steps.size() > 1 || (steps.size() == 1 && steps[0] != 1))
      return false;
    if (normalize_axis(axes[0], 3) != 1) return false;
    const std::int64_t begin = starts[0] < 0 ? starts[0] + 4 : starts[0];
    return begin == start && shape(slice.outputs[0]) == Shape{head_.batch, 2, head_.anchors};
  }

  // The DFL conv: 1x1, no bias, one output channel, weights = one per bin; its input is the
  // softmax over the bins of Reshape(box concat) to (N, 4, bins, A), arranged (N, bins, 4, A).
  bool match_expectation(int id, std::vector<DetectHeadLevel>& levels) {
    const Node* conv = take(id, "Conv");
    if (!conv || !shape_is(id, {head_.batch, 1, 4, head_.anchors})) return false;
    if (conv->has_input(2) || !is_constant(conv->inputs[1]) || conv->attr_int("group", 1) != 1) {
      return fail(g_.describe(*conv) + " is not a bias-free constant 1x1 convolution");
    }
    for (const char* key : {"strides", "dilations"})
      for (std::int64_t v : conv->attr_ints(key))
        if (v != 1) return fail(g_.describe(*conv) + " has a stride or dilation");
    for (std::int64_t v : conv->attr_ints("pads"))
      if (v != 0) return fail(g_.describe(*conv) + " is padded");
    const Shape& w = shape(conv->inputs[1]);
    if (w.size() != 4 || w[0] != 1 || w[2] != 1 || w[3] != 1 || w[1] < 1 || w[1] > kHeadMaxBins) {
      return fail(g_.describe(*conv) + ": weights " + to_string(w) + " are not 1 x bins x 1 x 1");
    }
    head_.bin_weights = g_.value(conv->inputs[1]).constant->to_float_vector();
    int grouped = kNoValue;
    if (!match_softmax_chain(conv->inputs[0], w[1], grouped)) return false;
    const Node* reshape = take(grouped, "Reshape");
    const int concat = reshape ? reshape->inputs[0] : kNoValue;
    if (!reshape || !shape_is(concat, {head_.batch, 4 * w[1], head_.anchors})) return false;
    return match_levels(concat, levels);
  }

  // Transposes and one Softmax from the (N, 4, bins, A) Reshape output to the conv's (N, bins,
  // 4, A) input, the softmax over the bins: followed axis by axis.
  bool match_softmax_chain(int id, std::int64_t bins, int& grouped) {
    std::vector<const Node*> chain;  // from the Reshape forwards
    for (int v = id; chain.size() < 6; v = chain.front()->inputs[0]) {
      const int p = index_.producer[static_cast<std::size_t>(v)];
      const std::string op = p < 0 ? "" : g_.nodes[static_cast<std::size_t>(p)].op_type;
      if (op == "Reshape") {
        grouped = v;
        break;
      }
      const Node* node = take(v, op == "Softmax" ? "Softmax" : "Transpose");
      if (!node) return false;
      chain.insert(chain.begin(), node);
    }
    if (grouped == kNoValue || !shape_is(grouped, {head_.batch, 4, bins, head_.anchors}))
      return fail("no (N, 4, bins, A) Reshape before the softmax");
    enum Axis : int { kBatch, kSide, kBin, kAnchor };
    std::vector<int> axes{kBatch, kSide, kBin, kAnchor};  // what each axis of the current tensor is
    int softmaxes = 0;
    for (const Node* node : chain) {
      if (node->op_type == "Softmax") {
        const int axis = normalize_axis(node->attr_int("axis", node->opset >= 13 ? -1 : 1), 4);
        // Before opset 13 Softmax flattens from `axis` on: the same only for the last axis.
        if (axes[static_cast<std::size_t>(axis)] != kBin || (node->opset < 13 && axis != 3))
          return fail(g_.describe(*node) + " is not over the bins");
        ++softmaxes;
        continue;
      }
      std::vector<std::int64_t> perm = node->attr_ints("perm");
      if (perm.empty()) perm = {3, 2, 1, 0};
      if (perm.size() != 4) return fail(g_.describe(*node) + " is not a rank-4 permutation");
      std::vector<int> permuted(4);
      for (std::size_t i = 0; i < 4; ++i) permuted[i] = axes[static_cast<std::size_t>(perm[i])];
      axes = permuted;
    }
    if (softmaxes != 1 || axes != std::vector<int>{kBatch, kBin, kSide, kAnchor})
      return fail("the DFL softmax chain does not end as (N, bins, 4, A)");
    return true;
  }

  // Concat on the anchor axis of Reshape(x_i) to (N, C, H_i * W_i), x_i = Conv outputs N x C x H_i x W_i.
  bool match_levels(int id, std::vector<DetectHeadLevel>& levels) {
    const Node* cat = take(id, "Concat");
    if (!cat || axis_of(*cat, 3) != 2) return fail("the levels are not joined on the anchor axis");
    const std::int64_t channels = shape(id)[1];
    std::int64_t anchors = 0;
    for (int part : cat->inputs) {
      const Node* reshape = take(part, "Reshape");
      if (!reshape) return false;
      const int x = reshape->inputs[0];
      const int p = index_.producer[static_cast<std::size_t>(x)];
      const Shape& s = shape(x);
      if (p < 0 || g_.nodes[static_cast<std::size_t>(p)].op_type != "Conv" || s.size() != 4 || s[0] != head_.batch ||
          s[1] != channels) {
        return fail("level input " + name(x) + " is not an N x " + std::to_string(channels) +
                    " x H x W convolution output");
      }
      if (!shape_is(part, {head_.batch, channels, s[2] * s[3]})) return false;
      levels.push_back({x, kNoValue, s[2], s[3], 0.0f});  // the map in `box`, whichever branch this is
      anchors += s[2] * s[3];
    }
    if (anchors != head_.anchors)
      return fail("the levels hold " + std::to_string(anchors) + " anchors, not " + std::to_string(head_.anchors));
    return true;
  }

  bool match_classes(int id, std::vector<DetectHeadLevel>& levels) {
    const Node* sigmoid = take(id, "Sigmoid");
    if (!sigmoid || !shape_is(id, {head_.batch, head_.classes, head_.anchors})) return false;
    if (!shape_is(sigmoid->inputs[0], {head_.batch, head_.classes, head_.anchors})) return false;
    return match_levels(sigmoid->inputs[0], levels);
  }

  bool pair_levels(const std::vector<DetectHeadLevel>& boxes, const std::vector<DetectHeadLevel>& classes) {
    if (boxes.size() != classes.size() || boxes.empty() || boxes.size() > static_cast<std::size_t>(kHeadMaxLevels)) {
      return fail("box and class levels differ in number (or there are more than " + std::to_string(kHeadMaxLevels) +
                  ")");
    }
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      if (boxes[i].height != classes[i].height || boxes[i].width != classes[i].width)
        return fail("box and class level sizes differ");
      head_.levels.push_back(boxes[i]);
      head_.levels.back().cls = classes[i].box;  // match_levels keeps each branch's map in `box`
    }
    return true;
  }

  // --- constants --------------------------------------------------------------------------------
  // Whether constant `id` holds `rows` x A values broadcast over the batch: shape [..1, rows, A]
  // (just [..1, A] for one row).
  bool per_anchor(int id, std::int64_t rows) const {
    if (!is_constant(id)) return false;
    const Shape& s = shape(id);
    const std::size_t tail = rows == 1 ? 1 : 2;
    if (s.size() < tail || s.back() != head_.anchors || (rows > 1 && s[s.size() - 2] != rows)) return false;
    return std::all_of(s.begin(), s.end() - static_cast<std::ptrdiff_t>(tail), [](std::int64_t d) { return d == 1; });
  }

  // Anchors: (w + offset, h + offset) cell by cell, level after level, the same in both
  // constants; strides: one positive value per level.
  bool check_grid() {
    const std::vector<float> strides = g_.value(strides_).constant->to_float_vector();
    const std::vector<float> anchors = g_.value(anchors_[0]).constant->to_float_vector();
    if (g_.value(anchors_[1]).constant->to_float_vector() != anchors) return fail("the two anchor constants differ");
    head_.anchor_offset = anchors[0];
    if (!std::isfinite(head_.anchor_offset)) return fail("the anchor offset is not finite");
    const auto a = static_cast<std::size_t>(head_.anchors);
    std::size_t first = 0;
    for (DetectHeadLevel& level : head_.levels) {
      level.stride = strides[first];
      if (!(level.stride > 0.0f) || !std::isfinite(level.stride))
        return fail("a level's stride is not a positive number");
      for (std::int64_t h = 0; h < level.height; ++h)
        for (std::int64_t w = 0; w < level.width; ++w) {
          const std::size_t k = first + static_cast<std::size_t>(h * level.width + w);
          if (anchors[k] != static_cast<float>(w) + head_.anchor_offset ||
              anchors[a + k] != static_cast<float>(h) + head_.anchor_offset) {
            return fail("anchor " + std::to_string(k) + " is not the grid point of its level");
          }
          if (strides[k] != level.stride)
            return fail("anchor " + std::to_string(k) + " has another stride than its level");
        }
      first += static_cast<std::size_t>(level.height * level.width);
    }
    return true;
  }

  // Nothing the fused step does not write may be read outside the tail.
  bool check_closed() {
    for (int n : nodes_) {
      const int id = g_.nodes[static_cast<std::size_t>(n)].outputs[0];
      if (id == head_.output) continue;
      if (g_.is_graph_output(id)) return fail("intermediate " + name(id) + " is a graph output");
      for (int c : index_.consumers[static_cast<std::size_t>(id)])
        if (!nodes_.count(c))
          return fail("intermediate " + name(id) + " is read by " + g_.describe(g_.nodes[static_cast<std::size_t>(c)]));
    }
    return true;
  }

  const Graph& g_;
  const GraphIndex& index_;
  DetectHead head_;
  std::set<int> nodes_;
  int strides_ = kNoValue;
  std::vector<int> anchors_;
  std::string why_;
};

}  // namespace

std::optional<DetectHead> match_detect_head(const Graph& graph, int node, std::string* why) {
  if (node < 0 || static_cast<std::size_t>(node) >= graph.nodes.size()) {
    if (why) *why = "no node " + std::to_string(node);
    return std::nullopt;
  }
  const GraphIndex index(graph);
  return HeadMatcher(graph, index).run(node, why);
}

std::vector<DetectHead> find_detect_heads(const Graph& graph) {
  const GraphIndex index(graph);
  std::vector<DetectHead> heads;
  std::set<int> taken;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (node.op_type != "Concat" || node.inputs.size() != 2 || node.outputs.size() != 1 ||
        taken.count(static_cast<int>(n)))
      continue;
    if (auto head = HeadMatcher(graph, index).run(static_cast<int>(n), nullptr)) {
      // Two candidate heads never share nodes (each would be fused once).
      if (std::any_of(head->nodes.begin(), head->nodes.end(), [&](int k) { return taken.count(k) != 0; })) continue;
      taken.insert(head->nodes.begin(), head->nodes.end());
      heads.push_back(std::move(*head));
    }
  }
  return heads;
}

}  // namespace detstream::inference::cuda
