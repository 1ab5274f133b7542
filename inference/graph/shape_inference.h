// Build-time shape inference with constant folding. Binding concrete input shapes and then
// walking the graph in order resolves the Shape/Gather/Concat/Reshape chains of dynamic exports:
// a node whose inputs are all known is evaluated with its reference kernel and replaced by
// constants. Not thread-safe: mutates the graph.
#pragma once

#include <map>
#include <string>

#include "inference/graph/graph.h"

namespace detstream::inference {

// Sets each named input's shape. A name that is not an input, a rank that differs from the
// model's, or a static dimension that differs throws Error naming the input and both shapes.
void bind_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes);

struct InferenceResult {
  int folded_nodes = 0;
};

// Infers every value's type and shape, folding constant subgraphs. Throws Error naming the node
// when an input shape is still unknown or the node rejects its inputs.
InferenceResult infer_and_fold(Graph& graph);

}  // namespace detstream::inference
