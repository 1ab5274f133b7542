// Reshape, Flatten, Squeeze, Unsqueeze -> no step at all when the input is already plain: the
// output is a view of the input's bytes with the new dimensions. An input in a oneDNN layout is
// reordered to plain once (shared with any other plain consumer).
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

void lower_reshape(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const auto type = lowering.compute_type(index);
  const Shape& in = graph.value(node.inputs[0]).shape;
  const int plain = lowering.convert(lowering.slot_of(node.inputs[0]), plain_desc(in, type), index);
  lowering.bind(node.outputs[0], lowering.view(plain, plain_desc(graph.value(node.outputs[0]).shape, type)));
}

}  // namespace detstream::inference::cpu
