#include "inference/cuda/lowering.h"

#include <algorithm>
#include <climits>
#include <numeric>

#include "inference/core/error.h"
#include "inference/cuda/memory_planner.h"

namespace detstream::inference::cuda {

namespace {

bool is_binary(const std::string& op) { return op == "Add" || op == "Sub" || op == "Mul" || op == "Div"; }
bool is_unary(const std::string& op) { return op == "Sigmoid" || op == "Relu"; }
bool is_reshape(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}
bool is_view(const std::string& op) {
  return op == "Split" || op == "Slice" || op == "Transpose" || op == "Identity" || is_reshape(op);
}
// Ops that keep a feature map a feature map (same N x C x H x W meaning of the axes).
bool is_feature_op(const std::string& op) {
  return op == "Conv" || op == "MaxPool" || op == "Resize" || is_binary(op) || is_unary(op) || op == "Identity" ||
         op == "Concat" || op == "Split";
}

ElementwiseOp binary_op(const std::string& op) {
  if (op == "Add") return ElementwiseOp::kAdd;
  if (op == "Sub") return ElementwiseOp::kSub;
  if (op == "Mul") return ElementwiseOp::kMul;
  return ElementwiseOp::kDiv;
}

// Whether integer attribute `name` of `node` is n copies of `value` (absent: `absent_ok`).
bool ints_all(const Node& node, const char* name, std::int64_t value, std::size_t n, bool absent_ok) {
  const std::vector<std::int64_t> v = node.attr_ints(name);
  if (v.empty()) return absent_ok;
  return v.size() == n && std::all_of(v.begin(), v.end(), [&](std::int64_t e) { return e == value; });
}

std::vector<std::int64_t> ints_input_or_attr(const Graph& g, const Node& node, std::size_t input, const char* attr) {
  if (node.has_input(input)) {
    const Value& v = g.value(node.inputs[input]);
    if (!v.is_constant()) throw Error(g.describe(node) + ": input " + std::to_string(input) + " must be a constant on the cuda backend");
    return v.constant->to_int64_vector();
  }
  return node.attr_ints(attr);
}

class Lowerer {
 public:
  Lowerer(const Graph& graph, Precision precision, const LoweringOptions& options)
      : g_(graph), precision_(precision), feature_dtype_(feature_dtype(precision)), opt_(options) {}

  LoweredGraph run() {
    out_.values.resize(g_.values.size());
    producer_.assign(g_.values.size(), -1);
    for (std::size_t n = 0; n < g_.nodes.size(); ++n)
      for (int id : g_.nodes[n].outputs)
        if (id != kNoValue) producer_[static_cast<std::size_t>(id)] = static_cast<int>(n);
    consumers_ = g_.consumers();
    classify();
    absorbed_.assign(g_.nodes.size(), 0);
    if (opt_.fuse_detect_head) mark_heads();
    if (opt_.fuse_pool_chain) mark_pool_chains();
    if (opt_.concat_in_place) place_concats();
    lower_inputs();
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) lower_node(g_.nodes[n]);
    lower_outputs();
    finish_lifetimes();
    return std::move(out_);
  }

 private:
  // --- classification -------------------------------------------------------------------
  void classify() {
    feature_.assign(g_.values.size(), 0);
    for (int id : g_.inputs) feature_[static_cast<std::size_t>(id)] = g_.value(id).shape.size() == 4;
    for (const Node& node : g_.nodes) {
      bool feature = is_feature_op(node.op_type);
      for (int id : node.outputs) feature = feature && id != kNoValue && g_.value(id).shape.size() == 4;
      if (feature && (node.op_type == "Concat" || node.op_type == "Split")) {
        feature = normalize_axis(node.attr_int("axis", 0), 4) == 1;
      }
      const std::size_t inputs = node.op_type == "Conv" ? 1 : node.inputs.size();
      for (std::size_t i = 0; i < inputs && feature; ++i) {
        const int id = node.inputs[i];
        if (id != kNoValue && !g_.value(id).is_constant()) feature = feature_[static_cast<std::size_t>(id)] != 0;
      }
      for (int id : node.outputs)
        if (id != kNoValue) feature_[static_cast<std::size_t>(id)] = feature;
    }
  }
  bool feature(int id) const { return feature_[static_cast<std::size_t>(id)] != 0; }
  DataType computed_dtype(int id) const { return feature(id) ? feature_dtype_ : DataType::kFloat32; }
  bool computed_nhwc(int id) const { return feature(id) && opt_.feature_nhwc; }

  // --- concat in place ------------------------------------------------------------------
  bool strided_input_ok(const Node& conv) const {
    return opt_.conv_strided_input && strided_conv_capable(g_, conv, precision_, opt_);
  }

  // Whether `id`, or a view of it, is read by a convolution (any: `all`; else only ones that need
  // packed input).
  bool feeds_conv(int id, bool all) const {
    for (int c : consumers_[static_cast<std::size_t>(id)]) {
      const Node& node = g_.nodes[static_cast<std::size_t>(c)];
      if (node.op_type == "Conv" && node.inputs[0] == id && (all || !strided_input_ok(node))) return true;
      if (is_view(node.op_type))
        for (int out : node.outputs)
          if (out != kNoValue && feeds_conv(out, all)) return true;
    }
    return false;
  }

  bool can_place(int id, int concat_out, const TensorRef& slot) const {
    const Value& v = g_.value(id);
    if (v.is_constant() || g_.is_graph_output(id) || out_.values[static_cast<std::size_t>(id)].valid()) return false;
    if (std::find(g_.inputs.begin(), g_.inputs.end(), id) != g_.inputs.end()) return false;
    const int p = producer_[static_cast<std::size_t>(id)];
    if (p < 0) return false;
    const std::string& op = g_.nodes[static_cast<std::size_t>(p)].op_type;
    const bool conv = op == "Conv";
    const bool writes_strided = is_binary(op) || is_unary(op) || op == "MaxPool" || op == "Resize" || op == "Softmax" ||
                                op == "Concat" ||
                                (conv && opt_.conv_strided_output && feature(id) &&
                                 strided_conv_capable(g_, g_.nodes[static_cast<std::size_t>(p)], precision_, opt_));
    if (!writes_strided) return false;
    if (feature(id) != feature(concat_out) || v.shape.size() != g_.value(concat_out).shape.size()) return false;
    if (feeds_conv(id, false)) return false;
    // The convolution kernel moves 16-byte vectors: its tensors must start and step at 8 elements.
    if ((conv || feeds_conv(id, true)) && !vector_aligned(slot)) return false;
    return true;
  }

  void place_concats() {
    for (auto it = g_.nodes.rbegin(); it != g_.nodes.rend(); ++it) {
      const Node& node = *it;
      if (node.op_type != "Concat" || in_head(node)) continue;
      const int o = node.outputs[0];
      const Shape& shape = g_.value(o).shape;
      const int axis = normalize_axis(node.attr_int("axis", 0), shape.size());
      const TensorRef& target = output_ref(o);
      std::int64_t start = 0;
      for (std::size_t i = 0; i < node.inputs.size();) {
        const int id = node.inputs[i];
        if (const std::size_t taken = place_split_run(node, i, axis, target, start); taken > 0) {
          i += taken;
          continue;
        }
        const std::int64_t size = g_.value(id).shape[static_cast<std::size_t>(axis)];
        const TensorRef slot = slice_view(target, axis, start, size);
        if (std::count(node.inputs.begin(), node.inputs.end(), id) == 1 && can_place(id, o, slot)) {
          out_.values[static_cast<std::size_t>(id)] = slot;
        }
        start += size;
        ++i;
      }
    }
  }

  // When inputs[i...] are all the outputs of one Split along the same axis, in order, places the
  // Split's input at their position (its outputs then become views in place). Returns how many
  // concat inputs that covered (0: not this pattern), advancing `start`.
  std::size_t place_split_run(const Node& concat, std::size_t i, int axis, const TensorRef& target, std::int64_t& start) {
    const int p = producer_[static_cast<std::size_t>(concat.inputs[i])];
    if (p < 0) return 0;
    const Node& split = g_.nodes[static_cast<std::size_t>(p)];
    if (split.op_type != "Split" || split.outputs.size() < 2 || split.outputs[0] != concat.inputs[i]) return 0;
    if (i + split.outputs.size() > concat.inputs.size()) return 0;
    const int source = split.inputs[0];
    if (g_.value(source).shape.size() != g_.value(concat.outputs[0]).shape.size()) return 0;
    if (normalize_axis(split.attr_int("axis", 0), g_.value(source).shape.size()) != axis) return 0;
    for (std::size_t k = 0; k < split.outputs.size(); ++k) {
      if (concat.inputs[i + k] != split.outputs[k]) return 0;
      if (std::count(concat.inputs.begin(), concat.inputs.end(), split.outputs[k]) != 1) return 0;
    }
    const std::int64_t size = g_.value(source).shape[static_cast<std::size_t>(axis)];
    const TensorRef slot = slice_view(target, axis, start, size);
    if (!can_place(source, concat.outputs[0], slot)) return 0;
    out_.values[static_cast<std::size_t>(source)] = slot;
    start += size;
    return split.outputs.size();
  }

  // --- refs -----------------------------------------------------------------------------
  TensorRef new_root(const Shape& shape, DataType dtype, bool nhwc) {
    Root root;
    root.bytes = static_cast<std::size_t>(element_count(shape)) * element_size(dtype);
    root.first_step = INT_MAX;
    root.last_step = INT_MIN;
    out_.roots.push_back(root);
    TensorRef ref;
    ref.root = static_cast<int>(out_.roots.size()) - 1;
    ref.dtype = dtype;
    ref.shape = shape;
    ref.strides = nhwc ? nhwc_strides(shape) : row_major_strides(shape);
    return ref;
  }

  const TensorRef& output_ref(int id) {
    TensorRef& ref = out_.values[static_cast<std::size_t>(id)];
    if (!ref.valid()) ref = new_root(g_.value(id).shape, computed_dtype(id), computed_nhwc(id));
    return ref;
  }

  const TensorRef& input_ref(const Node& node, int id) { return input_ref(g_.describe(node), id); }
  const TensorRef& input_ref(const std::string& where, int id) {
    TensorRef& ref = out_.values[static_cast<std::size_t>(id)];
    if (ref.valid()) return ref;
    const Value& v = g_.value(id);
    if (!v.is_constant()) throw Error(where + ": input '" + v.name + "' is read before it is computed");
    if (v.dtype != DataType::kFloat32 && v.dtype != DataType::kFloat16 && v.dtype != DataType::kFloat64) {
      throw Error(where + ": constant '" + v.name + "' is " + std::string(to_string(v.dtype)) +
                  "; the cuda backend computes on float tensors only");
    }
    Root root;
    root.kind = RootKind::kConstant;
    root.bytes = static_cast<std::size_t>(element_count(v.shape)) * sizeof(float);
    root.constant_value = id;
    out_.roots.push_back(root);
    ref.root = static_cast<int>(out_.roots.size()) - 1;
    ref.dtype = DataType::kFloat32;
    ref.shape = v.shape;
    ref.strides = row_major_strides(v.shape);
    return ref;
  }

  void add_step(Step step) { out_.steps.push_back(std::move(step)); }

  void add_copy(const TensorRef& from, const TensorRef& to, int node) {
    Step step;
    step.kind = StepKind::kElementwise;
    step.node = node;
    step.op = ElementwiseOp::kCopy;
    step.inputs = {from};
    step.output = to;
    add_step(std::move(step));
  }

  void check_float(const Node& node) const {
    for (int id : node.outputs) {
      if (id != kNoValue && g_.value(id).dtype != DataType::kFloat32) {
        throw Error(g_.describe(node) + ": output '" + g_.value(id).name + "' is " +
                    std::string(to_string(g_.value(id).dtype)) + "; the cuda backend runs float32 models only");
      }
    }
  }

  // --- detection head -------------------------------------------------------------------
  void mark_heads() {
    head_of_.assign(g_.nodes.size(), -1);
    out_.heads = find_detect_heads(g_);
    for (std::size_t h = 0; h < out_.heads.size(); ++h)
      for (int n : out_.heads[h].nodes) head_of_[static_cast<std::size_t>(n)] = static_cast<int>(h);
  }
  bool in_head(const Node& node) const {
    return !head_of_.empty() && head_of_[static_cast<std::size_t>(&node - g_.nodes.data())] >= 0;
  }

  // --- pool chains ----------------------------------------------------------------------
  // A MaxPool whose output feeds an identical one, up to kMaxPoolChain pools (SPPF: three 5x5
  // pools, each over the previous one): the first pool's step computes them all, so at batch 1
  // one launch replaces three dependent ones.
  static bool chainable(const Graph& g, const Node& node) {
    if (node.op_type != "MaxPool" || node.outputs.size() != 1 || g.value(node.inputs[0]).shape.size() != 4) return false;
    const std::vector<std::int64_t> k = node.attr_ints("kernel_shape");
    if (k.size() != 2 || k[0] != k[1] || k[0] % 2 == 0 || node.attr_string("auto_pad", "NOTSET") != "NOTSET") return false;
    const std::int64_t r = k[0] / 2;
    return ints_all(node, "strides", 1, 2, true) && ints_all(node, "dilations", 1, 2, true) && ints_all(node, "pads", r, 4, false);
  }

  void mark_pool_chains() {
    pool_chain_.assign(g_.nodes.size(), {});
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      const Node& first = g_.nodes[n];
      if (absorbed_[n] || in_head(first) || !chainable(g_, first) || !feature(first.outputs[0])) continue;
      int tail = static_cast<int>(n);
      while (pool_chain_[n].size() + 1 < static_cast<std::size_t>(kMaxPoolChain)) {
        const int y = g_.nodes[static_cast<std::size_t>(tail)].outputs[0];
        int next = -1;
        for (int c : consumers_[static_cast<std::size_t>(y)]) {
          const Node& cand = g_.nodes[static_cast<std::size_t>(c)];
          if (!absorbed_[static_cast<std::size_t>(c)] && !in_head(cand) && cand.inputs[0] == y && chainable(g_, cand) &&
              cand.attr_ints("kernel_shape") == first.attr_ints("kernel_shape") && feature(cand.outputs[0])) {
            next = c;
            break;
          }
        }
        if (next < 0) break;
        absorbed_[static_cast<std::size_t>(next)] = 1;
        pool_chain_[n].push_back(next);
        tail = next;
      }
    }
  }

  // The head's nodes emit nothing but its last (the output Concat), which emits the fused step:
  // every level map has been computed by then (topological order).
  void lower_head_node(int index) {
    const int h = head_of_[static_cast<std::size_t>(index)];
    const DetectHead& head = out_.heads[static_cast<std::size_t>(h)];
    if (index != head.output_node) return;
    const Node& node = g_.nodes[static_cast<std::size_t>(index)];
    Step step;
    step.kind = StepKind::kDetectHead;
    step.node = index;
    step.head = h;
    for (const DetectHeadLevel& level : head.levels) {
      step.inputs.push_back(input_ref(node, level.box));
      step.inputs.push_back(input_ref(node, level.cls));
    }
    step.output = output_ref(head.output);
    add_step(std::move(step));
  }

  // --- lowering -------------------------------------------------------------------------
  void lower_inputs() {
    for (int id : g_.inputs) {
      const Value& v = g_.value(id);
      if (v.dtype != DataType::kFloat32) {
        throw Error("input '" + v.name + "' is " + std::string(to_string(v.dtype)) + "; the cuda backend takes float32 inputs");
      }
      const TensorRef staging = new_root(v.shape, DataType::kFloat32, false);
      out_.input_staging.push_back(staging);
      TensorRef& ref = out_.values[static_cast<std::size_t>(id)];
      if (feature(id) && (feature_dtype_ != DataType::kFloat32 || opt_.feature_nhwc) && !read_in_place_by_convs(id)) {
        ref = new_root(v.shape, feature_dtype_, opt_.feature_nhwc);
        add_copy(staging, ref, -1);
      } else {
        ref = staging;
      }
    }
  }

  // Whether every reader of graph input `id` is a convolution that can take it as it comes.
  bool read_in_place_by_convs(int id) const {
    const auto& readers = consumers_[static_cast<std::size_t>(id)];
    if (readers.empty() || g_.is_graph_output(id)) return false;
    for (int c : readers) {
      const Node& node = g_.nodes[static_cast<std::size_t>(c)];
      if (node.inputs[0] != id || !direct_conv_capable(g_, node, precision_, opt_)) return false;
    }
    return true;
  }

  void lower_node(const Node& node) {
    check_float(node);
    const int index = static_cast<int>(&node - g_.nodes.data());
    if (absorbed_[static_cast<std::size_t>(index)]) return;
    if (in_head(node)) return lower_head_node(index);
    const std::string& op = node.op_type;
    const int y = node.outputs[0];
    if (op == "Conv") return lower_conv(node, index);
    if (is_binary(op) || is_unary(op)) {
      Step step;
      step.node = index;
      step.op = is_binary(op) ? binary_op(op) : ElementwiseOp::kCopy;
      step.activation = op == "Sigmoid" ? ops::Activation::kSigmoid : op == "Relu" ? ops::Activation::kRelu : ops::Activation::kNone;
      const Shape& shape = g_.value(y).shape;
      for (std::size_t i = 0; i < (is_binary(op) ? 2u : 1u); ++i) step.inputs.push_back(broadcast_view(input_ref(node, node.inputs[i]), shape));
      step.output = output_ref(y);
      return add_step(std::move(step));
    }
    if (op == "MaxPool" || op == "Resize" || op == "Softmax") {
      Step step;
      step.kind = op == "MaxPool" ? StepKind::kMaxPool : op == "Resize" ? StepKind::kResize : StepKind::kSoftmax;
      step.node = index;
      step.inputs = {input_ref(node, node.inputs[0])};
      step.output = output_ref(y);
      if (!pool_chain_.empty())
        for (int chained : pool_chain_[static_cast<std::size_t>(index)])
          step.chained_outputs.push_back(output_ref(g_.nodes[static_cast<std::size_t>(chained)].outputs[0]));
      return add_step(std::move(step));
    }
    if (op == "Identity") {
      out_.values[static_cast<std::size_t>(y)] = input_ref(node, node.inputs[0]);
      return;
    }
    if (op == "Split") return lower_split(node);
    if (op == "Slice") return lower_slice(node);
    if (op == "Transpose") {
      const TensorRef& x = input_ref(node, node.inputs[0]);
      std::vector<std::int64_t> perm = node.attr_ints("perm");
      if (perm.empty()) {
        perm.resize(x.shape.size());
        std::iota(perm.rbegin(), perm.rend(), 0);
      }
      out_.values[static_cast<std::size_t>(y)] = permute_view(x, perm);
      return;
    }
    if (is_reshape(op)) return lower_reshape(node, index);
    if (op == "Concat") return lower_concat(node, index);
    throw Error(g_.describe(node) + ": not supported by the cuda backend");
  }

  void lower_conv(const Node& node, int index) {
    const int y = node.outputs[0];
    const DataType dtype = computed_dtype(y);
    const bool nhwc = computed_nhwc(y);
    TensorRef x = input_ref(node, node.inputs[0]);
    const bool packed = nhwc ? is_packed_nhwc(x) : is_packed_row_major(x);
    const bool strided_ok = nhwc && strided_input_ok(node) && vector_aligned(x);
    const bool direct_ok = direct_conv_capable(g_, node, precision_, opt_);
    if (direct_ok && opt_.fuse_stem_pair) {
      if (const int second = stem_pair_second(node, x); second >= 0) return lower_stem_pair(node, index, second, x);
    }
    if (!direct_ok && (x.dtype != dtype || !(packed || strided_ok))) {
      const TensorRef packed_x = new_root(x.shape, dtype, nhwc);
      add_copy(x, packed_x, index);
      x = packed_x;
    }
    Step step;
    step.kind = StepKind::kConv;
    step.node = index;
    step.activation = ops::activation_from_node(node);
    step.inputs = {x};
    if (!direct_ok && fold_residual_add(node, x, step)) return add_step(std::move(step));
    step.output = output_ref(y);
    if (!direct_ok) fold_upsample(node, step);
    add_step(std::move(step));
  }

  // --- upsampling in the epilogue ----------------------------------------------------------
  // Whether `resize` repeats every pixel of its input 2x2 (nearest, twice the height and width,
  // source index floor(o / 2) under its coordinate and rounding modes).
  bool nearest_2x(const Node& resize) const {
    if (resize.op_type != "Resize" || resize.attr_string("mode", "nearest") != "nearest") return false;
    const Shape& in = g_.value(resize.inputs[0]).shape;
    const Shape& out = g_.value(resize.outputs[0]).shape;
    if (in.size() != 4 || out.size() != 4 || out[0] != in[0] || out[1] != in[1] || out[2] != 2 * in[2] || out[3] != 2 * in[3]) return false;
    const std::string coordinate = resize.attr_string("coordinate_transformation_mode", "half_pixel");
    const std::string rounding = resize.attr_string("nearest_mode", "round_prefer_floor");
    // asymmetric: o / 2, so o = 2k + 1 lands on k + 0.5; half_pixel: o / 2 - 0.25, never a tie.
    if (coordinate == "asymmetric") return rounding == "floor" || rounding == "round_prefer_floor";
    if (coordinate == "half_pixel" || coordinate == "pytorch_half_pixel") return rounding == "round_prefer_floor" || rounding == "round_prefer_ceil";
    return false;
  }

  // "Resize(Conv(x))", nearest 2x, with the convolution on the strided-output kernels: the
  // convolution also writes the Resize's output (Step::upsampled), which then needs no step. At
  // batch 1 an upsampling launch is ~2 us of the graph's critical path (YOLOv8 has two); large
  // maps stay with the resize kernel (LoweringOptions::fuse_upsample_bytes).
  void fold_upsample(const Node& conv, Step& step) {
    if (!opt_.conv_strided_output || !strided_conv_capable(g_, conv, precision_, opt_)) return;
    const int y = conv.outputs[0];
    for (int c : consumers_[static_cast<std::size_t>(y)]) {
      const Node& resize = g_.nodes[static_cast<std::size_t>(c)];
      if (absorbed_[static_cast<std::size_t>(c)] || in_head(resize) || resize.inputs[0] != y || !nearest_2x(resize)) continue;
      const int up = resize.outputs[0];
      const std::size_t bytes = static_cast<std::size_t>(element_count(g_.value(up).shape)) * element_size(step.output.dtype);
      if (!feature(up) || bytes > opt_.fuse_upsample_bytes) continue;
      const TensorRef& ref = output_ref(up);
      if (ref.dtype != step.output.dtype || !pair_aligned(ref) || !clear_of(ref, step.inputs[0], false) ||
          !clear_of(ref, step.output, false))
        continue;
      absorbed_[static_cast<std::size_t>(c)] = 1;
      step.upsampled = ref;
      return;
    }
  }

  // --- stem pair --------------------------------------------------------------------------
  static bool is_3x3_stride2_pad1(const Node& conv) {
    return ints_all(conv, "kernel_shape", 3, 2, false) && ints_all(conv, "strides", 2, 2, false) && ints_all(conv, "pads", 1, 4, false) &&
           ints_all(conv, "dilations", 1, 2, true) && conv.attr_int("group", 1) == 1 && conv.attr_string("auto_pad", "NOTSET") == "NOTSET";
  }
  bool weights_are(const Node& conv, const Shape& shape) const {
    const Value& w = g_.value(conv.inputs[1]);
    return w.is_constant() && w.shape == shape;
  }

  // The convolution fused after stem `first` (reading graph input x in place, fp32 NCHW), or -1:
  // the shapes conv_stem_pair_supported takes (3 -> 16 -> 32 channels, both 3x3 stride 2 with
  // padding 1, input width a multiple of 4), the stem's map read by that convolution only.
  int stem_pair_second(const Node& first, const TensorRef& x) const {
    const int mid = first.outputs[0];
    if (x.dtype != DataType::kFloat32 || !is_packed_row_major(x) || x.shape.size() != 4 || x.shape[3] <= 0 || x.shape[3] % 4 != 0)
      return -1;
    if (!is_3x3_stride2_pad1(first) || !weights_are(first, {16, 3, 3, 3}) || g_.is_graph_output(mid)) return -1;
    if (out_.values[static_cast<std::size_t>(mid)].valid()) return -1;  // placed in a concatenation
    const auto& readers = consumers_[static_cast<std::size_t>(mid)];
    if (readers.size() != 1) return -1;
    const Node& second = g_.nodes[static_cast<std::size_t>(readers[0])];
    if (second.op_type != "Conv" || second.inputs[0] != mid || in_head(second) || !is_3x3_stride2_pad1(second) ||
        !weights_are(second, {32, 16, 3, 3}) || !pair_aligned_output(second.outputs[0]))
      return -1;
    return readers[0];
  }
  bool pair_aligned_output(int id) const {
    const TensorRef& placed = out_.values[static_cast<std::size_t>(id)];
    return feature(id) && opt_.feature_nhwc && (!placed.valid() || pair_aligned(placed));
  }

  void lower_stem_pair(const Node& first, int index, int second, const TensorRef& x) {
    absorbed_[static_cast<std::size_t>(second)] = 1;
    Step step;
    step.kind = StepKind::kStemPair;
    step.node = index;
    step.second_node = second;
    step.activation = ops::activation_from_node(first);
    step.inputs = {x};
    step.output = output_ref(g_.nodes[static_cast<std::size_t>(second)].outputs[0]);
    add_step(std::move(step));
  }

  // "Add(Conv(x), r)" where the Conv output feeds nothing else and r is already computed: the
  // convolution writes the Add's output and adds r in its epilogue. Skipped (false) unless the
  // layouts are ones the convolution kernels take: packed outputs (cuDNN then adds r with one
  // elementwise launch), or strided fp16 NHWC tensors in 16-byte vectors for the implicit GEMM;
  // and unless r and x stay clear of the output.
  bool fold_residual_add(const Node& conv, const TensorRef& x, Step& step) {
    if (!opt_.fuse_residual_add) return false;
    const int y = conv.outputs[0];
    const auto& readers = consumers_[static_cast<std::size_t>(y)];
    if (readers.size() != 1 || g_.is_graph_output(y)) return false;
    const int add_index = readers[0];
    const Node& add = g_.nodes[static_cast<std::size_t>(add_index)];
    if (add.op_type != "Add" || add.inputs.size() != 2 || add.inputs[0] == add.inputs[1]) return false;
    if (ops::activation_from_node(add) != ops::Activation::kNone) return false;
    const int other = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
    const int sum = add.outputs[0];
    const Shape& shape = g_.value(y).shape;
    if (g_.value(other).shape != shape || g_.value(sum).shape != shape || !feature(other) || !feature(sum)) return false;
    const TensorRef& residual = out_.values[static_cast<std::size_t>(other)];
    if (!residual.valid() || residual.dtype != computed_dtype(y)) return false;
    const TensorRef out = output_ref(sum);
    const bool packed = computed_nhwc(y) ? is_packed_nhwc(out) : is_packed_row_major(out);
    const bool vectors = strided_conv_capable(g_, conv, precision_, opt_) && opt_.conv_strided_output && vector_aligned(out) &&
                         vector_aligned(residual) && vector_aligned(x);
    if (out.dtype != computed_dtype(y) || !(vectors || packed)) return false;
    if (!clear_of(residual, out, true) || !clear_of(x, out, false)) return false;
    step.inputs.push_back(residual);
    step.output = out;
    absorbed_[static_cast<std::size_t>(add_index)] = 1;
    return true;
  }

  // Whether `a` and `b` never share an element (or are the same elements, when `same_ok`: a
  // thread reads its residual before writing the same place). Views of one root are told apart
  // only as disjoint channel ranges of one NHWC buffer (concatenation slices).
  bool clear_of(const TensorRef& a, const TensorRef& b, bool same_ok) const {
    if (a.root != b.root) return true;
    if (same_place(a, b)) return same_ok;
    if (a.shape.size() != 4 || a.strides != b.strides || a.strides[1] != 1) return false;
    const std::int64_t pixel = a.strides[3];
    if (pixel <= 0 || a.strides[2] % pixel != 0 || a.strides[0] % pixel != 0) return false;
    if (a.offset / pixel != b.offset / pixel) return false;
    const std::int64_t ca = a.offset % pixel, cb = b.offset % pixel;
    if (ca + a.shape[1] > pixel || cb + b.shape[1] > pixel) return false;
    return ca + a.shape[1] <= cb || cb + b.shape[1] <= ca;
  }

  void lower_split(const Node& node) {
    const TensorRef& x = input_ref(node, node.inputs[0]);
    const int axis = normalize_axis(node.attr_int("axis", 0), x.shape.size());
    std::int64_t start = 0;
    const TensorRef source = x;  // out_.values may grow below; keep a copy
    for (int id : node.outputs) {
      if (id == kNoValue) continue;
      const std::int64_t size = g_.value(id).shape[static_cast<std::size_t>(axis)];
      out_.values[static_cast<std::size_t>(id)] = slice_view(source, axis, start, size);
      start += size;
    }
  }

  void lower_slice(const Node& node) {
    TensorRef view = input_ref(node, node.inputs[0]);
    const std::vector<std::int64_t> starts = ints_input_or_attr(g_, node, 1, "starts");
    std::vector<std::int64_t> axes = ints_input_or_attr(g_, node, 3, "axes");
    std::vector<std::int64_t> steps = node.has_input(4) ? ints_input_or_attr(g_, node, 4, "steps") : std::vector<std::int64_t>{};
    if (axes.empty()) {
      axes.resize(starts.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    const Shape& out_shape = g_.value(node.outputs[0]).shape;
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const int a = normalize_axis(axes[i], view.shape.size());
      const std::int64_t step = i < steps.size() ? steps[i] : 1;
      const std::int64_t dim = view.shape[static_cast<std::size_t>(a)];
      std::int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
      s = step > 0 ? std::clamp<std::int64_t>(s, 0, dim) : std::clamp<std::int64_t>(s, 0, dim - 1);
      view = slice_view(view, a, s, out_shape[static_cast<std::size_t>(a)], step);
    }
    out_.values[static_cast<std::size_t>(node.outputs[0])] = view;
  }

  void lower_reshape(const Node& node, int index) {
    const TensorRef x = input_ref(node, node.inputs[0]);
    const Shape& shape = g_.value(node.outputs[0]).shape;
    if (is_packed_row_major(x)) {
      out_.values[static_cast<std::size_t>(node.outputs[0])] = reshape_view(x, shape);
      return;
    }
    // Materialise in row-major order, then view with the new shape.
    const TensorRef packed = new_root(x.shape, DataType::kFloat32, false);
    add_copy(x, packed, index);
    out_.values[static_cast<std::size_t>(node.outputs[0])] = reshape_view(packed, shape);
  }

  void lower_concat(const Node& node, int index) {
    const int o = node.outputs[0];
    const TensorRef target = output_ref(o);
    const int axis = normalize_axis(node.attr_int("axis", 0), target.shape.size());
    std::int64_t start = 0;
    for (int id : node.inputs) {
      const TensorRef& x = input_ref(node, id);
      const std::int64_t size = x.shape[static_cast<std::size_t>(axis)];
      const TensorRef slot = slice_view(target, axis, start, size);
      if (!same_place(x, slot)) add_copy(x, slot, index);
      start += size;
    }
  }

  void lower_outputs() {
    for (int id : g_.outputs) {
      const TensorRef& ref = out_.values[static_cast<std::size_t>(id)];
      const bool direct = ref.valid() && out_.roots[static_cast<std::size_t>(ref.root)].kind == RootKind::kArena &&
                          ref.dtype == DataType::kFloat32 && is_packed_row_major(ref);
      if (direct) {
        out_.output_staging.push_back(ref);
        continue;
      }
      const Value& v = g_.value(id);
      const TensorRef source = ref.valid() ? ref : input_ref("graph output '" + v.name + "'", id);
      const TensorRef staging = new_root(v.shape, DataType::kFloat32, false);
      add_copy(source, staging, -1);
      out_.output_staging.push_back(staging);
    }
  }

  void finish_lifetimes() {
    auto touch = [&](const TensorRef& ref, int step) {
      Root& root = out_.roots[static_cast<std::size_t>(ref.root)];
      root.first_step = std::min(root.first_step, step);
      root.last_step = std::max(root.last_step, step);
    };
    for (std::size_t s = 0; s < out_.steps.size(); ++s) {
      for (const TensorRef& in : out_.steps[s].inputs) touch(in, static_cast<int>(s));
      touch(out_.steps[s].output, static_cast<int>(s));
      for (const TensorRef& o : out_.steps[s].chained_outputs) touch(o, static_cast<int>(s));
      if (out_.steps[s].upsampled.valid()) touch(out_.steps[s].upsampled, static_cast<int>(s));
    }
    for (const TensorRef& in : out_.input_staging) touch(in, -1);
    for (const TensorRef& o : out_.output_staging) touch(o, static_cast<int>(out_.steps.size()));
    std::vector<BufferLifetime> lifetimes;
    std::vector<std::size_t> arena_roots;
    for (std::size_t r = 0; r < out_.roots.size(); ++r) {
      Root& root = out_.roots[r];
      if (root.kind != RootKind::kArena) continue;
      if (root.first_step == INT_MAX) root.first_step = root.last_step = -1;  // never used
      lifetimes.push_back({root.bytes, root.first_step, root.last_step});
      arena_roots.push_back(r);
    }
    const ArenaPlan plan = plan_arena(lifetimes);
    for (std::size_t i = 0; i < arena_roots.size(); ++i) out_.roots[arena_roots[i]].arena_offset = plan.offsets[i];
    out_.arena_bytes = plan.arena_bytes;
  }

  const Graph& g_;
  Precision precision_;
  DataType feature_dtype_;
  LoweringOptions opt_;
  std::vector<char> feature_;
  std::vector<char> absorbed_;  // nodes another step computes: Adds and Resizes in a conv epilogue, chained pools
  std::vector<std::vector<int>> pool_chain_;  // by node: the MaxPools chained after it (mark_pool_chains)
  std::vector<int> head_of_;           // by node: index into out_.heads, -1; empty when not fusing
  std::vector<int> producer_;
  std::vector<std::vector<int>> consumers_;
  LoweredGraph out_;
};

}  // namespace

bool strided_conv_capable(const Graph& graph, const Node& node, Precision precision, const LoweringOptions& options) {
  if (precision != Precision::kFp16 || !options.feature_nhwc || node.op_type != "Conv") return false;
  if (node.attr_int("group", 1) != 1 || !node.has_input(1)) return false;
  const Shape& w = graph.value(node.inputs[1]).shape;
  const Shape& x = graph.value(node.inputs[0]).shape;
  return w.size() == 4 && x.size() == 4 && x[1] % 8 == 0 && w[0] % 8 == 0;
}

bool direct_conv_capable(const Graph& graph, const Node& node, Precision precision, const LoweringOptions& options) {
  if (!options.conv_direct_input || precision != Precision::kFp16 || !options.feature_nhwc || node.op_type != "Conv") return false;
  if (node.attr_int("group", 1) != 1 || !node.has_input(1)) return false;
  const Shape& w = graph.value(node.inputs[1]).shape;
  const Shape& x = graph.value(node.inputs[0]).shape;
  return w.size() == 4 && x.size() == 4 && x[1] <= 4 && w[0] % 8 == 0;
}

bool vector_aligned(const TensorRef& ref) {
  if (ref.shape.size() != 4 || ref.strides[1] != 1 || ref.offset % 8 != 0) return false;
  return ref.strides[0] % 8 == 0 && ref.strides[2] % 8 == 0 && ref.strides[3] % 8 == 0;
}

bool pair_aligned(const TensorRef& ref) {
  if (ref.shape.size() != 4 || ref.strides[1] != 1 || ref.offset % 2 != 0) return false;
  return ref.strides[0] % 2 == 0 && ref.strides[2] % 2 == 0 && ref.strides[3] % 2 == 0;
}

DataType feature_dtype(Precision precision) {
  return precision == Precision::kFp16 ? DataType::kFloat16 : DataType::kFloat32;
}

LoweredGraph lower_graph(const Graph& graph, Precision precision, const LoweringOptions& options) {
  return Lowerer(graph, precision, options).run();
}

}  // namespace detstream::inference::cuda
