#include "inference/passes/constant_folding.h"

#include "inference/graph/shape_inference.h"

namespace detstream::inference {

bool ConstantFolding::apply(Graph& graph) const { return infer_and_fold(graph).folded_nodes > 0; }

}  // namespace detstream::inference
