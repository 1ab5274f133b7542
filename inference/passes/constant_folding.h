// Constant folding: infers shapes and evaluates every node whose inputs are all known at build
// time (weights, Shape of a bound input, ...) with its reference kernel, replacing it by a
// constant. This is what resolves the Shape/Gather/Range chains of dynamic=True exports.
#pragma once

#include "inference/passes/pass.h"

namespace detstream::inference {

class ConstantFolding final : public Pass {
 public:
  std::string_view name() const override { return "constant-folding"; }
  bool apply(Graph& graph) const override;
};

}  // namespace detstream::inference
