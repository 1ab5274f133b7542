// Removes nodes none of whose outputs reach a graph output, and values nothing refers to.
#pragma once

#include "inference/passes/pass.h"

namespace detstream::inference {

class DeadNodeElimination final : public Pass {
 public:
  std::string_view name() const override { return "dead-node-elimination"; }
  bool apply(Graph& graph) const override;
};

}  // namespace detstream::inference
