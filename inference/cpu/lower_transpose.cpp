// Transpose -> one oneDNN reorder: the source descriptor is the input's own layout with its axes
// permuted, the destination plain, so a layout change and a type change ride along for free.
#include <numeric>

#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"

namespace detstream::inference::cpu {

void lower_transpose(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const auto type = lowering.compute_type(index);
  const std::size_t rank = graph.value(node.inputs[0]).shape.size();
  std::vector<std::int64_t> perm = node.attr_ints("perm");
  if (perm.empty()) {
    for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
  }
  // ONNX: out[i] = in[perm[i]]. oneDNN's permute_axes: out[q[i]] = in[i], so q = perm^-1.
  std::vector<int> inverse(rank);
  for (std::size_t i = 0; i < rank; ++i) inverse[static_cast<std::size_t>(perm[i])] = static_cast<int>(i);
  int src = lowering.slot_of(node.inputs[0]);
  dnnl::memory::desc permuted;
  try {
    permuted = lowering.slot(src).desc->permute_axes(inverse);
  } catch (const dnnl::error&) {
    // Blocked layouts cannot be permuted in place: go through plain first.
    src = lowering.convert(src, plain_desc(graph.value(node.inputs[0]).shape, lowering.slot(src).desc->data_type()), index);
    permuted = lowering.slot(src).desc->permute_axes(inverse);
  }
  const int source = lowering.view(src, permuted);
  const dnnl::memory::desc dst_desc = plain_desc(graph.value(node.outputs[0]).shape, type);
  const dnnl::reorder::primitive_desc pd(lowering.engine(), permuted, lowering.engine(), dst_desc, Lowering::attr());
  const int dst = lowering.define(node.outputs[0], dst_desc);
  lowering.emit(index, dnnl::reorder(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, source}, {DNNL_ARG_DST, dst}});
}

}  // namespace detstream::inference::cpu
