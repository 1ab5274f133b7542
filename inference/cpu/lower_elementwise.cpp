// Add/Sub/Mul/Div -> oneDNN binary (NumPy broadcasting of the second source; Add and Mul swap
// their operands when only the first broadcasts) and Sigmoid/Relu -> oneDNN eltwise, both in the
// layout of the full-size operand. A broadcast operand is given in plain layout at rank 4.
#include <utility>

#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

namespace {

dnnl::algorithm binary_algorithm(const std::string& op) {
  if (op == "Add") return dnnl::algorithm::binary_add;
  if (op == "Sub") return dnnl::algorithm::binary_sub;
  if (op == "Mul") return dnnl::algorithm::binary_mul;
  return dnnl::algorithm::binary_div;
}

// The broadcast operand as a plain rank-`rank` tensor (leading 1s), aliasing its plain copy.
int broadcast_operand(Lowering& lowering, int value, std::size_t rank, dnnl::memory::data_type type, int node) {
  const Shape& shape = lowering.graph().value(value).shape;
  const int plain = lowering.convert(lowering.slot_of(value), plain_desc(shape, type), node);
  Shape extended(rank - shape.size(), 1);
  extended.insert(extended.end(), shape.begin(), shape.end());
  if (extended == shape) return plain;
  return lowering.view(plain, plain_desc(extended, type));
}

}  // namespace

void lower_binary(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& out = graph.value(node.outputs[0]).shape;
  int a = node.inputs[0], b = node.inputs[1];
  if (graph.value(a).shape != out) std::swap(a, b);  // lowers_to_dnnl allowed this only for Add/Mul
  const auto type = lowering.compute_type(index);
  // A constant first operand has no layout of its own; give it the other operand's.
  int src0 = lowering.with_type(lowering.slot_of(graph.value(a).is_constant() && !graph.value(b).is_constant() &&
                                                         graph.value(b).shape == out
                                                     ? b
                                                     : a),
                                type, index);
  const dnnl::memory::desc layout = *lowering.slot(src0).desc;
  src0 = lowering.convert(lowering.slot_of(a), layout, index);
  const int src1 = graph.value(b).shape == out
                       ? lowering.convert(lowering.slot_of(b), layout, index)
                       : broadcast_operand(lowering, b, out.size(), type, index);
  const dnnl::memory::desc dst_any(to_dims(out), type, dnnl::memory::format_tag::any);
  const dnnl::binary::desc desc(binary_algorithm(node.op_type), layout, *lowering.slot(src1).desc, dst_any);
  const dnnl::binary::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  const int dst = lowering.define(node.outputs[0], pd.dst_desc());
  lowering.emit(index, dnnl::binary(pd), pd.scratchpad_desc(),
                {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}});
}

void lower_unary(Lowering& lowering, int index) {
  const Node& node = lowering.graph().nodes[static_cast<std::size_t>(index)];
  const int src = lowering.with_type(lowering.slot_of(node.inputs[0]), lowering.compute_type(index), index);
  const dnnl::memory::desc layout = *lowering.slot(src).desc;
  const auto algorithm = node.op_type == "Relu" ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_logistic;
  const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, layout, 0.0f, 0.0f);
  const dnnl::eltwise_forward::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  const int dst = lowering.define(node.outputs[0], pd.dst_desc());
  lowering.emit(index, dnnl::eltwise_forward(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
