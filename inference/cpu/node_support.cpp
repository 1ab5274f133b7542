#include "inference/cpu/node_support.h"

#include <algorithm>

#include "inference/ops/activation.h"

namespace detstream::inference::cpu {

namespace {

bool is_f32(const Graph& graph, int id) { return id != kNoValue && graph.value(id).dtype == DataType::kFloat32; }

bool is_feature_map(const Graph& graph, int id) {
  if (!is_f32(graph, id)) return false;
  const Shape& shape = graph.value(id).shape;
  return shape.size() == 4 && is_static(shape) && element_count(shape) > 0;
}

bool all_outputs_feature_maps(const Graph& graph, const Node& node) {
  return !node.outputs.empty() && std::all_of(node.outputs.begin(), node.outputs.end(),
                                              [&](int id) { return is_feature_map(graph, id); });
}

bool supports_conv(const Graph& graph, const Node& node) {
  if (node.input_count() < 2 || !is_feature_map(graph, node.inputs[0])) return false;
  const Value& weights = graph.value(node.inputs[1]);
  if (!weights.is_constant() || weights.dtype != DataType::kFloat32 || weights.shape.size() != 4) return false;
  if (node.has_input(2) && (!graph.value(node.inputs[2]).is_constant() || !is_f32(graph, node.inputs[2]))) return false;
  const std::string activation = node.attr_string(ops::kActivationAttribute, "");
  if (!activation.empty() && activation != "silu" && activation != "relu" && activation != "sigmoid") return false;
  return all_outputs_feature_maps(graph, node);
}

bool supports_max_pool(const Graph& graph, const Node& node) {
  if (!is_feature_map(graph, node.inputs[0]) || node.outputs.size() != 1) return false;
  if (node.attr_int("storage_order", 0) != 0) return false;
  const auto dilations = node.attr_ints("dilations");
  if (std::any_of(dilations.begin(), dilations.end(), [](std::int64_t d) { return d != 1; })) return false;
  return all_outputs_feature_maps(graph, node);
}

bool supports_binary(const Graph& graph, const Node& node) {
  if (node.input_count() != 2 || !all_outputs_feature_maps(graph, node)) return false;
  if (!is_f32(graph, node.inputs[0]) || !is_f32(graph, node.inputs[1])) return false;
  const Shape& out = graph.value(node.outputs[0]).shape;
  const Shape& a = graph.value(node.inputs[0]).shape;
  const Shape& b = graph.value(node.inputs[1]).shape;
  if (a.size() > 4 || b.size() > 4) return false;
  // oneDNN broadcasts only its second source; Add and Mul may swap theirs.
  const bool commutative = node.op_type == "Add" || node.op_type == "Mul";
  return a == out || (commutative && b == out);
}

bool supports_split(const Graph& graph, const Node& node) {
  return is_feature_map(graph, node.inputs[0]) && all_outputs_feature_maps(graph, node);
}

// Any float32 tensor of static shape oneDNN can describe (its descriptors hold up to 12 dims;
// the reference path is fine for the rare wider ones).
bool is_float_tensor(const Graph& graph, int id) {
  if (!is_f32(graph, id)) return false;
  const Shape& shape = graph.value(id).shape;
  return shape.size() >= 1 && shape.size() <= 6 && is_static(shape) && element_count(shape) > 0;
}

bool all_float_tensors(const Graph& graph, const std::vector<int>& ids) {
  return !ids.empty() && std::all_of(ids.begin(), ids.end(), [&](int id) { return is_float_tensor(graph, id); });
}

// Reshape-like ops only relabel a plain buffer: the shape operand (if any) is folded already.
bool supports_reshape(const Graph& graph, const Node& node) {
  if (node.outputs.size() != 1 || !is_float_tensor(graph, node.inputs[0])) return false;
  if (graph.value(node.inputs[0]).is_constant()) return false;
  return is_float_tensor(graph, node.outputs[0]);
}

bool supports_matmul(const Graph& graph, const Node& node) {
  if (node.input_count() != 2 || node.outputs.size() != 1) return false;
  if (!is_f32(graph, node.inputs[0]) || !is_f32(graph, node.inputs[1]) || !is_f32(graph, node.outputs[0])) return false;
  const Shape& a = graph.value(node.inputs[0]).shape;
  const Shape& b = graph.value(node.inputs[1]).shape;
  const Shape& out = graph.value(node.outputs[0]).shape;
  // oneDNN matmul wants equal ranks 2..5 whose batch dimensions broadcast; the 1-D forms stay ref.
  return a.size() >= 2 && a.size() <= 5 && a.size() == b.size() && is_static(out) && element_count(out) > 0;
}

}  // namespace

std::pair<std::int64_t, std::int64_t> nearest_resize_factors(const Graph& graph, const Node& node) {
  const std::pair<std::int64_t, std::int64_t> none{0, 0};
  if (node.op_type != "Resize" || node.outputs.size() != 1) return none;
  if (!is_feature_map(graph, node.inputs[0]) || !is_feature_map(graph, node.outputs[0])) return none;
  if (node.attr_string("mode", "nearest") != "nearest") return none;
  const std::string transform = node.attr_string("coordinate_transformation_mode", "half_pixel");
  const std::string rounding = node.attr_string("nearest_mode", "round_prefer_floor");
  // With integer factors k, oneDNN's index round((o + 0.5) / k - 0.5) equals floor(o / k), and
  // half-pixel rounding never meets a tie, so these conventions give identical results.
  const bool asymmetric_floor = transform == "asymmetric" && rounding == "floor";
  const bool half_pixel_round = (transform == "half_pixel" || transform == "pytorch_half_pixel") &&
                                (rounding == "round_prefer_floor" || rounding == "round_prefer_ceil");
  if (!asymmetric_floor && !half_pixel_round) return none;
  if (node.attr_int("exclude_outside", 0) != 0) return none;
  const Shape& in = graph.value(node.inputs[0]).shape;
  const Shape& out = graph.value(node.outputs[0]).shape;
  if (in[0] != out[0] || in[1] != out[1]) return none;
  if (out[2] % in[2] != 0 || out[3] % in[3] != 0) return none;
  // A scales input that is not exactly the integer factor would change the rounding: check it.
  if (node.has_input(2) && graph.value(node.inputs[2]).is_constant() && graph.value(node.inputs[2]).constant->count() == 4) {
    const std::vector<float> scales = graph.value(node.inputs[2]).constant->to_float_vector();
    if (scales[2] != static_cast<float>(out[2] / in[2]) || scales[3] != static_cast<float>(out[3] / in[3])) return none;
  }
  return {out[2] / in[2], out[3] / in[3]};
}

bool lowers_to_dnnl(const Graph& graph, const Node& node) {
  const std::string& op = node.op_type;
  if (op == "Conv") return supports_conv(graph, node);
  if (op == "MaxPool") return supports_max_pool(graph, node);
  if (op == "Resize") return nearest_resize_factors(graph, node).first > 0;
  if (op == "Split") return supports_split(graph, node);
  if (op == "Concat") return all_float_tensors(graph, node.inputs) && all_float_tensors(graph, node.outputs);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return supports_binary(graph, node);
  if (op == "Sigmoid" || op == "Relu" || op == "Softmax" || op == "Transpose") {
    return node.input_count() == 1 && is_float_tensor(graph, node.inputs[0]) && all_float_tensors(graph, node.outputs) &&
           !graph.value(node.inputs[0]).is_constant();
  }
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") return supports_reshape(graph, node);
  if (op == "MatMul") return supports_matmul(graph, node);
  return false;
}

}  // namespace detstream::inference::cpu
