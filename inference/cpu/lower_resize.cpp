// Resize (nearest, integer upscale factors; see node_support.h for the exact conventions) ->
// oneDNN nearest resampling, in the layout its input already has.
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

void lower_resize(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const int src = lowering.with_type(lowering.slot_of(node.inputs[0]), lowering.compute_type(index), index);
  const dnnl::memory::desc src_desc = *lowering.slot(src).desc;
  const dnnl::memory::desc dst_desc =
      same_layout(src_desc, to_dims(graph.value(node.outputs[0]).shape), src_desc.data_type());
  const dnnl::resampling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::resampling_nearest,
                                            src_desc, dst_desc);
  const dnnl::resampling_forward::primitive_desc pd(desc, Lowering::attr(), lowering.engine());
  const int dst = lowering.define(node.outputs[0], pd.dst_desc());
  lowering.emit(index, dnnl::resampling_forward(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
