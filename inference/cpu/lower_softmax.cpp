// Softmax -> oneDNN softmax on a plain float32 view: [outer, axis, inner] from opset 13, and
// [outer, everything from axis on] before it (ONNX's old 2-D coercion), normalised over dim 1.
// Always float32 (see Lowering::decide_compute_types).
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

void lower_softmax(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& shape = graph.value(node.inputs[0]).shape;
  const auto rank = static_cast<std::int64_t>(shape.size());
  const bool legacy = node.opset < 13;
  std::int64_t axis = node.attr_int("axis", legacy ? 1 : -1);
  if (axis < 0) axis += rank;
  std::int64_t outer = 1, dim = 1, inner = 1;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t n = shape[static_cast<std::size_t>(d)];
    if (d < axis) outer *= n;
    else if (legacy || d == axis) dim *= n;
    else inner *= n;
  }
  using dt = dnnl::memory::data_type;
  const dnnl::memory::desc folded({outer, dim, inner}, dt::f32, dnnl::memory::format_tag::abc);
  const int plain = lowering.convert(lowering.slot_of(node.inputs[0]), plain_desc(shape, dt::f32), index);
  const int src = lowering.view(plain, folded);
  const int out = lowering.define(node.outputs[0], plain_desc(graph.value(node.outputs[0]).shape, dt::f32));
  const int dst = lowering.view(out, folded);
  const dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, folded, 1);
  const dnnl::softmax_forward::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  lowering.emit(index, dnnl::softmax_forward(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
