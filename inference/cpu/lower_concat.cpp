// Concat and Split. When every piece is one contiguous run of bytes of the whole (plain layout,
// all dimensions before the axis 1: the head's [1, C, anchors] concats), Concat costs nothing:
// its inputs' producers write straight into their part of the output, and Split outputs are views.
// Otherwise (channels-last feature maps, where a channel slice is strided and oneDNN's
// convolutions accept only dense tensors) Concat is one oneDNN concat primitive over inputs in
// the first input's layout, and each Split output a reorder out of a sub-memory view.
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

namespace {

// Byte offset of piece `offset` along `axis` when pieces are contiguous in `whole`, else -1.
std::int64_t contiguous_offset(const dnnl::memory::desc& whole, int axis, std::int64_t offset) {
  if (!is_plain(whole)) return -1;
  const dnnl::memory::dims dims = whole.dims();
  std::int64_t inner = 1;
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (static_cast<int>(d) < axis && dims[d] != 1) return -1;
    if (static_cast<int>(d) > axis) inner *= dims[d];
  }
  return offset * inner * static_cast<std::int64_t>(dnnl::memory::data_type_size(whole.data_type()));
}

// In-place concat: each input placed (or, when its slot cannot move, copied) into its part.
bool lower_concat_in_place(Lowering& lowering, int index, int axis, dnnl::memory::data_type type,
                           const dnnl::memory::desc& dst_desc) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  if (contiguous_offset(dst_desc, axis, 0) < 0) return false;
  const int out = lowering.define(node.outputs[0], dst_desc);
  std::int64_t offset = 0;
  for (int id : node.inputs) {
    const Shape& shape = graph.value(id).shape;
    const dnnl::memory::desc want = plain_desc(shape, type);
    const auto bytes = static_cast<std::size_t>(contiguous_offset(dst_desc, axis, offset));
    const int src = lowering.convert(lowering.slot_of(id), want, index);
    if (!lowering.place(src, out, bytes)) {
      const int part = lowering.view(out, want);
      lowering.move_view(part, bytes);
      const dnnl::reorder::primitive_desc pd(lowering.engine(), want, lowering.engine(), want, Lowering::attr());
      lowering.emit(index, dnnl::reorder(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, part}});
    }
    offset += shape[static_cast<std::size_t>(axis)];
  }
  return true;
}

// Whether every Split output is a valid sub-memory of `desc` (piece boundaries on block edges).
bool cuts_between_blocks(const Graph& graph, const Node& node, const dnnl::memory::desc& desc, int axis) {
  dnnl::memory::dims offsets(desc.dims().size(), 0);
  try {
    for (int id : node.outputs) {
      const dnnl::memory::dims dims = to_dims(graph.value(id).shape);
      (void)desc.submemory_desc(dims, offsets);
      offsets[static_cast<std::size_t>(axis)] += dims[static_cast<std::size_t>(axis)];
    }
  } catch (const dnnl::error&) {
    return false;
  }
  return true;
}

}  // namespace

void lower_concat(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& out = graph.value(node.outputs[0]).shape;
  const int axis = normalize_axis(node.attr_int("axis", 0), out.size());
  const auto type = lowering.compute_type(index);
  const int first = lowering.with_type(lowering.slot_of(node.inputs[0]), type, index);
  const dnnl::memory::desc layout = *lowering.slot(first).desc;
  const dnnl::memory::desc dst_desc = same_layout(layout, to_dims(out), type);
  if (lower_concat_in_place(lowering, index, axis, type, dst_desc)) return;
  std::vector<dnnl::memory::desc> sources;
  std::vector<std::pair<int, int>> args;
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    const dnnl::memory::desc want = same_layout(layout, to_dims(graph.value(node.inputs[i]).shape), type);
    const int src = lowering.convert(lowering.slot_of(node.inputs[i]), want, index);
    sources.push_back(want);
    args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), src);
  }
  const dnnl::concat::primitive_desc pd(dst_desc, axis, sources, lowering.engine(), Lowering::attr());
  args.emplace_back(DNNL_ARG_DST, lowering.define(node.outputs[0], pd.dst_desc()));
  lowering.emit(index, dnnl::concat(pd), pd.scratchpad_desc(), std::move(args));
}

void lower_split(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const Shape& in = graph.value(node.inputs[0]).shape;
  const int axis = normalize_axis(node.attr_int("axis", 0), in.size());
  int src = lowering.with_type(lowering.slot_of(node.inputs[0]), lowering.compute_type(index), index);
  dnnl::memory::desc src_desc = *lowering.slot(src).desc;
  if (!cuts_between_blocks(graph, node, src_desc, axis)) {
    // A blocked layout (nChw8c on AVX2) cannot be cut inside a block: cut a channels-last copy.
    src_desc = dnnl::memory::desc(src_desc.dims(), src_desc.data_type(), dnnl::memory::format_tag::nhwc);
    src = lowering.convert(src, src_desc, index);
  }
  dnnl::memory::dims offsets(in.size(), 0);
  for (int id : node.outputs) {
    const dnnl::memory::dims dims = to_dims(graph.value(id).shape);
    const std::int64_t bytes = contiguous_offset(src_desc, axis, offsets[static_cast<std::size_t>(axis)]);
    if (bytes >= 0) {
      const int part = lowering.view(src, plain_desc(graph.value(id).shape, src_desc.data_type()));
      lowering.move_view(part, static_cast<std::size_t>(bytes));
      lowering.bind(id, part);
      offsets[static_cast<std::size_t>(axis)] += dims[static_cast<std::size_t>(axis)];
      continue;
    }
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
