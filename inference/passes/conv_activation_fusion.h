// Conv -> Sigmoid -> Mul(conv, sigmoid) (SiLU, as Ultralytics exports it) and Conv -> Relu become
// one Conv carrying the internal "activation" attribute. Matches only when the Conv output feeds
// exactly those nodes and is not a graph output; the fused node keeps the Conv's name.
#pragma once

#include "inference/passes/pass.h"

namespace detstream::inference {

class ConvActivationFusion final : public Pass {
 public:
  std::string_view name() const override { return "conv-activation-fusion"; }
  bool apply(Graph& graph) const override;
};

}  // namespace detstream::inference
