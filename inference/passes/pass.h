// A graph pass: a cheap match and a rewrite. apply() returns whether it changed the graph and
// skips (never fails on) patterns it does not expect. Passes are stateless; one graph at a time.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "inference/graph/graph.h"

namespace detstream::inference {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  virtual bool apply(Graph& graph) const = 0;
};

// The builder's pipeline, in order: constant folding, Conv+SiLU fusion, dead-node removal.
std::vector<std::unique_ptr<Pass>> default_passes();

}  // namespace detstream::inference
