// Expand (opset 8+): broadcasts the input against the 'shape' input (known at build time) in
// both directions, as NumPy does: the output shape is broadcast(input shape, shape). Any type.
#include "inference/ops/broadcast.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/strided_copy.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_expand(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  if (in[1].shape.size() != 1) throw node_error(node, "input 'shape' must be 1-D, got " + to_string(in[1].shape));
  const std::vector<std::int64_t> shape = constant_ints(in[1], node, "shape");
  for (std::int64_t d : shape) {
    if (d < 0) throw node_error(node, "input 'shape' = " + list_string(shape) + " has a negative dimension");
  }
  try {
    return {OutputInfo{in[0].dtype, broadcast_shapes(in[0].shape, shape), nullptr}};
  } catch (const Error& e) {
    throw node_error(node, std::string("input 'shape' = ") + list_string(shape) + ": " + e.what());
  }
}

void expand(const Node&, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  RankBuffer<std::int64_t> strides(out[0].shape.size());
  broadcast_strides_into(in[0].shape, out[0].shape, strides.data());
  strided_copy(in[0].data, 0, {strides.data(), strides.size()}, out[0].shape, element_size(in[0].dtype), out[0].data);
}

}  // namespace

const OpSchema kExpand{"Expand", 8, infer_expand, expand, 1u << 1};

}  // namespace detstream::inference::ops
