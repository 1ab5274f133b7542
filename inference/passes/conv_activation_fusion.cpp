#include "inference/passes/conv_activation_fusion.h"

#include <algorithm>

#include "inference/ops/activation.h"

namespace detstream::inference {

namespace {

bool is_silu_mul(const Node& mul, int conv_out, int sigmoid_out) {
  if (mul.op_type != "Mul" || mul.input_count() != 2) return false;
  return (mul.inputs[0] == conv_out && mul.inputs[1] == sigmoid_out) ||
         (mul.inputs[1] == conv_out && mul.inputs[0] == sigmoid_out);
}

// Returns the index of the last node of the activation to fold into conv `c`, or -1.
int match_activation(const Graph& graph, const std::vector<std::vector<int>>& consumers, std::size_t c,
                     ops::Activation& activation) {
  const Node& conv = graph.nodes[c];
  if (conv.op_type != "Conv" || conv.has_attribute(ops::kActivationAttribute)) return -1;
  const int out = conv.outputs[0];
  if (graph.is_graph_output(out)) return -1;
  const auto& users = consumers[static_cast<std::size_t>(out)];
  if (users.size() == 1 && graph.nodes[static_cast<std::size_t>(users[0])].op_type == "Relu") {
    activation = ops::Activation::kRelu;
    return users[0];
  }
  if (users.size() != 2) return -1;
  const int a = users[0], b = users[1];
  const int sig = graph.nodes[static_cast<std::size_t>(a)].op_type == "Sigmoid" ? a : b;
  const int mul = sig == a ? b : a;
  const Node& sigmoid = graph.nodes[static_cast<std::size_t>(sig)];
  if (sigmoid.op_type != "Sigmoid") return -1;
  const int sig_out = sigmoid.outputs[0];
  if (graph.is_graph_output(sig_out) || consumers[static_cast<std::size_t>(sig_out)].size() != 1) return -1;
  if (consumers[static_cast<std::size_t>(sig_out)][0] != mul) return -1;
  if (!is_silu_mul(graph.nodes[static_cast<std::size_t>(mul)], out, sig_out)) return -1;
  activation = ops::Activation::kSilu;
  return mul;
}

}  // namespace

bool ConvActivationFusion::apply(Graph& graph) const {
  const auto consumers = graph.consumers();
  std::vector<char> removed(graph.nodes.size(), 0);
  bool modified = false;
  for (std::size_t c = 0; c < graph.nodes.size(); ++c) {
    ops::Activation activation = ops::Activation::kNone;
    const int last = match_activation(graph, consumers, c, activation);
    if (last < 0) continue;
    Node& conv = graph.nodes[c];
    const int conv_out = conv.outputs[0];
    conv.outputs[0] = graph.nodes[static_cast<std::size_t>(last)].outputs[0];
    conv.attributes[ops::kActivationAttribute] = Attribute::of_string(ops::activation_name(activation));
    for (int user : consumers[static_cast<std::size_t>(conv_out)]) removed[static_cast<std::size_t>(user)] = 1;
    modified = true;
  }
  if (!modified) return false;
  std::vector<Node> kept;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    if (!removed[n]) kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  return true;
}

}  // namespace detstream::inference
