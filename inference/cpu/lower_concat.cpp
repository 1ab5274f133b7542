// Concat and Split of feature maps. Concat -> one oneDNN concat primitive over its inputs, all in
// the first input's layout. Split -> each output is a reorder out of a sub-memory view of the
// input (oneDNN's convolutions want dense sources, so the pieces are materialised once).
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

void lower_concat(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& out = graph.value(node.outputs[0]).shape;
  const int axis = normalize_axis(node.attr_int("axis", 0), out.size());
  const auto type = lowering.compute_type(index);
  const int first = lowering.with_type(lowering.slot_of(node.inputs[0]), type, index);
  const dnnl::memory::desc layout = *lowering.slot(first).desc;
  std::vector<dnnl::memory::desc> sources;
  std::vector<std::pair<int, int>> args;
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    const dnnl::memory::desc want = same_layout(layout, to_dims(graph.value(node.inputs[i]).shape), type);
    const int src = lowering.convert(lowering.slot_of(node.inputs[i]), want, index);
    sources.push_back(want);
    args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), src);
  }
  const dnnl::memory::desc dst_desc = same_layout(layout, to_dims(out), type);
  const dnnl::concat::primitive_desc pd(dst_desc, axis, sources, lowering.engine(), Lowering::attr());
  args.emplace_back(DNNL_ARG_DST, lowering.define(node.outputs[0], pd.dst_desc()));
  lowering.emit(index, dnnl::concat(pd), pd.scratchpad_desc(), std::move(args));
}

void lower_split(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& in = graph.value(node.inputs[0]).shape;
  const int axis = normalize_axis(node.attr_int("axis", 0), in.size());
  const int src = lowering.with_type(lowering.slot_of(node.inputs[0]), lowering.compute_type(index), index);
  const dnnl::memory::desc src_desc = *lowering.slot(src).desc;
  dnnl::memory::dims offsets(in.size(), 0);
  for (int id : node.outputs) {
    const dnnl::memory::dims dims = to_dims(graph.value(id).shape);
    const int piece = lowering.view(src, src_desc.submemory_desc(dims, offsets));
    const dnnl::memory::desc dst_desc = same_layout(src_desc, dims, src_desc.data_type());
    const dnnl::reorder::primitive_desc pd(lowering.engine(), *lowering.slot(piece).desc, lowering.engine(), dst_desc,
                                           Lowering::attr());
    const int dst = lowering.define(id, dst_desc);
    lowering.emit(index, dnnl::reorder(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, piece}, {DNNL_ARG_DST, dst}});
    offsets[static_cast<std::size_t>(axis)] += dims[static_cast<std::size_t>(axis)];
  }
}

}  // namespace detstream::inference::cpu
