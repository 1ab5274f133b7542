// MatMul -> oneDNN matmul on plain (row-major) tensors of equal rank; batch dimensions of size 1
// broadcast as in NumPy. A constant operand is converted once, at build time.
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

void lower_matmul(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const auto type = lowering.compute_type(index);
  const Shape& a = graph.value(node.inputs[0]).shape;
  const Shape& b = graph.value(node.inputs[1]).shape;
  const Shape& out = graph.value(node.outputs[0]).shape;
  const int src = lowering.convert(lowering.slot_of(node.inputs[0]), plain_desc(a, type), index);
  const int weights = lowering.convert(lowering.slot_of(node.inputs[1]), plain_desc(b, type), index);
  const dnnl::matmul::desc desc(plain_desc(a, type), plain_desc(b, type), plain_desc(out, type));
  const dnnl::matmul::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  const int dst = lowering.define(node.outputs[0], pd.dst_desc());
  lowering.emit(index, dnnl::matmul(pd), pd.scratchpad_desc(),
                {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
