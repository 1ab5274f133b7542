// Activations a Conv may carry after fusion (engine-internal attribute "activation").
#pragma once

#include <cmath>
#include <string>

#include "inference/graph/graph.h"

namespace detstream::inference::ops {

enum class Activation { kNone, kSilu, kRelu, kSigmoid };

inline constexpr const char* kActivationAttribute = "activation";

Activation activation_from_node(const Node& node);
const char* activation_name(Activation activation);

inline float apply_activation(Activation activation, float v) {
  switch (activation) {
    case Activation::kSilu: return v / (1.0f + std::exp(-v));
    case Activation::kRelu: return v > 0.0f ? v : 0.0f;
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-v));
    case Activation::kNone: return v;
  }
  return v;
}

}  // namespace detstream::inference::ops
