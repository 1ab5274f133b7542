// MaxPool -> oneDNN max pooling, in whatever layout its input already has. ONNX ceil_mode is
// expressed as extra right padding (padded positions never win a max in either definition).
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"
#include "inference/ops/conv_geometry.h"

namespace detstream::inference::cpu {

void lower_max_pool(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& x = graph.value(node.inputs[0]).shape;
  const auto kernel = node.attr_ints("kernel_shape");
  const ops::WindowGeometry g = ops::resolve_window(node, x, kernel, node.attr_int("ceil_mode", 0) != 0);
  dnnl::memory::dims pad_end(2);
  for (std::size_t i = 0; i < 2; ++i) {
    pad_end[i] = (g.output[i] - 1) * g.strides[i] + g.kernel[i] - x[i + 2] - g.pads_begin[i];
  }
  const int src = lowering.with_type(lowering.slot_of(node.inputs[0]), lowering.compute_type(index), index);
  const dnnl::memory::desc src_desc = *lowering.slot(src).desc;
  const dnnl::memory::desc dst_any(to_dims(graph.value(node.outputs[0]).shape), src_desc.data_type(),
                                   dnnl::memory::format_tag::any);
  const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src_desc,
                                         dst_any, {g.strides[0], g.strides[1]}, {g.kernel[0], g.kernel[1]},
                                         {g.pads_begin[0], g.pads_begin[1]}, pad_end);
  const dnnl::pooling_forward::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  const int dst = lowering.define(node.outputs[0], pd.dst_desc());
  lowering.emit(index, dnnl::pooling_forward(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
