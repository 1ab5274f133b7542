// Softmax -> oneDNN softmax over a float32 view [outer, axis, inner] (from opset 13) or [outer,
// everything from axis on] (ONNX's 2-D coercion before it). oneDNN's fast kernels need the
// normalised axis innermost in memory, so a Softmax over an outer axis (DFL's axis 1) runs on a
// layout with that axis dense, e.g. nhwc for axis 1: which is also what the DFL conv after it
// reads. Always float32 (see Lowering::decide_compute_types).
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

namespace {

using dt = dnnl::memory::data_type;

// `shape` with `axis` dense (stride 1) and the other dimensions row-major around it.
dnnl::memory::desc axis_innermost(const Shape& shape, std::size_t axis) {
  dnnl::memory::dims strides(shape.size());
  std::int64_t stride = shape[axis];
  strides[axis] = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (d == axis) continue;
    strides[d] = stride;
    stride *= shape[d];
  }
  return dnnl::memory::desc(to_dims(shape), dt::f32, strides);
}

}  // namespace

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
  const dnnl::memory::desc layout =
      inner == 1 ? plain_desc(shape, dt::f32) : axis_innermost(shape, static_cast<std::size_t>(axis));
  const dnnl::memory::desc folded({outer, dim, inner}, dt::f32,
                                  inner == 1 ? dnnl::memory::format_tag::abc : dnnl::memory::format_tag::acb);
  const int src = lowering.view(lowering.convert(lowering.slot_of(node.inputs[0]), layout, index), folded);
  const int dst = lowering.view(lowering.define(node.outputs[0], layout), folded);
  const dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, folded, 1);
  const dnnl::softmax_forward::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  lowering.emit(index, dnnl::softmax_forward(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
