#include "inference/ops/activation.h"

#include "inference/core/error.h"

namespace detstream::inference::ops {

Activation activation_from_node(const Node& node) {
  const std::string name = node.attr_string(kActivationAttribute, "");
  if (name.empty()) return Activation::kNone;
  if (name == "silu") return Activation::kSilu;
  if (name == "relu") return Activation::kRelu;
  if (name == "sigmoid") return Activation::kSigmoid;
  throw Error(node.op_type + " '" + node.name + "': unknown fused activation '" + name + "'");
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::kSilu: return "silu";
    case Activation::kRelu: return "relu";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kNone: return "";
  }
  return "";
}

}  // namespace detstream::inference::ops
