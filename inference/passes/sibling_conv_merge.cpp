#include "inference/passes/sibling_conv_merge.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "inference/ops/activation.h"

namespace detstream::inference {

namespace {

// A convolution the pass may merge: one group, constant float weights (and bias of their type),
// a non-constant input, and an output that only convolutions read (they take a channel slice as
// their input in place; anything else would make the Split a copy).
bool mergeable(const Graph& graph, const std::vector<std::vector<int>>& consumers, const Node& conv) {
  if (conv.op_type != "Conv" || conv.outputs.size() != 1 || !conv.has_input(1) || conv.attr_int("group", 1) != 1) return false;
  const Value& x = graph.value(conv.inputs[0]);
  const Value& w = graph.value(conv.inputs[1]);
  if (x.is_constant() || !w.is_constant() || w.shape.size() != 4 || (w.dtype != DataType::kFloat32 && w.dtype != DataType::kFloat16)) return false;
  if (conv.has_input(2)) {
    const Value& b = graph.value(conv.inputs[2]);
    if (!b.is_constant() || b.dtype != w.dtype || b.shape != Shape{w.shape[0]}) return false;
  }
  const int y = conv.outputs[0];
  if (graph.is_graph_output(y) || graph.value(y).shape.size() != 4 || consumers[static_cast<std::size_t>(y)].empty()) return false;
  for (int c : consumers[static_cast<std::size_t>(y)]) {
    const Node& user = graph.nodes[static_cast<std::size_t>(c)];
    if (user.op_type != "Conv" || user.inputs[0] != y || std::count(user.inputs.begin(), user.inputs.end(), y) != 1) return false;
  }
  return true;
}

// Whether a and b compute the same function of the same input up to their weights.
bool siblings(const Graph& graph, const Node& a, const Node& b) {
  const Shape& wa = graph.value(a.inputs[1]).shape;
  const Shape& wb = graph.value(b.inputs[1]).shape;
  if (a.inputs[0] != b.inputs[0] || !std::equal(wa.begin() + 1, wa.end(), wb.begin() + 1)) return false;
  if (graph.value(a.inputs[1]).dtype != graph.value(b.inputs[1]).dtype) return false;
  for (const char* key : {"kernel_shape", "strides", "pads", "dilations"})
    if (a.attr_ints(key) != b.attr_ints(key)) return false;
  return a.attr_string("auto_pad", "NOTSET") == b.attr_string("auto_pad", "NOTSET") &&
         a.attr_string(ops::kActivationAttribute, "") == b.attr_string(ops::kActivationAttribute, "");
}

int add_constant(Graph& graph, const std::string& name, Tensor tensor) {
  Value value{name, tensor.dtype(), tensor.shape(), nullptr};
  value.constant = std::make_shared<const Tensor>(std::move(tensor));
  return graph.add_value(std::move(value));
}

// The tensors of `group`'s weights (or biases: input 2, zeros where a convolution has none)
// stacked along their first axis.
Tensor stacked(const Graph& graph, const std::vector<int>& group, std::size_t input) {
  const Value& first_w = graph.value(graph.nodes[static_cast<std::size_t>(group[0])].inputs[1]);
  Shape shape = input == 1 ? first_w.shape : Shape{0};
  shape[0] = 0;
  for (int n : group) shape[0] += graph.value(graph.nodes[static_cast<std::size_t>(n)].inputs[1]).shape[0];
  Tensor out(first_w.dtype, shape);  // zero-filled
  auto* at = static_cast<std::byte*>(out.raw());
  for (int n : group) {
    const Node& conv = graph.nodes[static_cast<std::size_t>(n)];
    const std::int64_t outputs = graph.value(conv.inputs[1]).shape[0];
    const std::size_t bytes = out.byte_size() / static_cast<std::size_t>(shape[0]) * static_cast<std::size_t>(outputs);
    if (conv.has_input(input)) std::memcpy(at, graph.value(conv.inputs[input]).constant->raw(), bytes);
    at += bytes;
  }
  return out;
}

// The merged convolution and the Split after it, replacing `group` (node indices, ascending).
std::vector<Node> merge(Graph& graph, const std::vector<int>& group) {
  const Node& first = graph.nodes[static_cast<std::size_t>(group[0])];
  Node conv = first;
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 1; i < group.size(); ++i) conv.name += " + " + graph.nodes[static_cast<std::size_t>(group[i])].name;
  for (int n : group) sizes.push_back(graph.value(graph.nodes[static_cast<std::size_t>(n)].inputs[1]).shape[0]);
  const bool bias = std::any_of(group.begin(), group.end(), [&](int n) { return graph.nodes[static_cast<std::size_t>(n)].has_input(2); });
  conv.inputs = {first.inputs[0], add_constant(graph, conv.name + ".weight", stacked(graph, group, 1))};
  if (bias) conv.inputs.push_back(add_constant(graph, conv.name + ".bias", stacked(graph, group, 2)));
  Value y = graph.value(first.outputs[0]);
  y.name = conv.name + ".output";
  for (std::size_t i = 1; i < sizes.size(); ++i) y.shape[1] += sizes[i];
  conv.outputs = {graph.add_value(std::move(y))};
  conv.impl.clear();
  Node split;
  split.name = conv.name + ".split";
  split.op_type = "Split";
  split.opset = std::max(first.opset, 13);  // sizes as an input
  split.attributes["axis"] = Attribute::of_int(1);
  split.inputs = {conv.outputs[0], add_constant(graph, split.name + ".sizes", Tensor::from_int64(sizes, {static_cast<std::int64_t>(sizes.size())}))};
  for (int n : group) split.outputs.push_back(graph.nodes[static_cast<std::size_t>(n)].outputs[0]);
  return {std::move(conv), std::move(split)};
}

}  // namespace

bool SiblingConvMerge::apply(Graph& graph) const {
  const auto consumers = graph.consumers();
  std::vector<char> taken(graph.nodes.size(), 0);
  std::map<int, std::vector<Node>> replacement;  // first node of a group -> what replaces the group
  for (int x = 0; x < static_cast<int>(consumers.size()); ++x) {  // merge() adds values past these
    const std::vector<int>& readers = consumers[static_cast<std::size_t>(x)];
    for (std::size_t i = 0; i < readers.size(); ++i) {
      const int a = readers[i];
      const Node& lead = graph.nodes[static_cast<std::size_t>(a)];
      if (taken[static_cast<std::size_t>(a)] || lead.inputs.empty() || lead.inputs[0] != x || !mergeable(graph, consumers, lead)) continue;
      std::vector<int> group{a};
      for (std::size_t j = i + 1; j < readers.size(); ++j) {
        const int b = readers[j];
        const Node& other = graph.nodes[static_cast<std::size_t>(b)];
        if (!taken[static_cast<std::size_t>(b)] && mergeable(graph, consumers, other) && siblings(graph, lead, other)) group.push_back(b);
      }
      std::sort(group.begin(), group.end());
      group.erase(std::unique(group.begin(), group.end()), group.end());  // a node reading x twice
      if (group.size() < 2) continue;
      for (int n : group) taken[static_cast<std::size_t>(n)] = 1;
      replacement[group[0]] = merge(graph, group);
    }
  }
  if (replacement.empty()) return false;
  std::vector<Node> nodes;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    if (const auto it = replacement.find(static_cast<int>(n)); it != replacement.end()) {
      for (Node& node : it->second) nodes.push_back(std::move(node));
    } else if (!taken[n]) {
      nodes.push_back(std::move(graph.nodes[n]));
    }
  }
  graph.nodes = std::move(nodes);
  return true;
}

}  // namespace detstream::inference
