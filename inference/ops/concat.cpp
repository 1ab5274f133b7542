// Concat (opset 4+): joins inputs of one type along `axis` (negative counts from the end); all
// other dimensions must match. Any element type; zero-sized inputs contribute nothing.
#include <cstring>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_concat(const Node& node, std::span<const InputInfo> in) {
  if (in.empty()) throw node_error(node, "needs at least one input");
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!in[i].present()) throw node_error(node, "input " + std::to_string(i) + " is missing");
  }
  if (!node.has_attribute("axis")) throw node_error(node, "attribute 'axis' is required");
  const Shape& first = in[0].shape;
  const auto rank = static_cast<std::int64_t>(first.size());
  const std::int64_t axis_attr = node.attr_int("axis", 0);
  if (rank == 0 || axis_attr < -rank || axis_attr >= rank) {
    throw node_error(node, "attribute 'axis' = " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(rank));
  }
  const auto axis = static_cast<std::size_t>(axis_attr < 0 ? axis_attr + rank : axis_attr);
  Shape out = first;
  out[axis] = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Shape& s = in[i].shape;
    if (in[i].dtype != in[0].dtype) {
      throw node_error(node, "input " + std::to_string(i) + " is " + std::string(to_string(in[i].dtype)) + " but input 0 is " +
                                 std::string(to_string(in[0].dtype)));
    }
    bool compatible = s.size() == first.size();
    for (std::size_t d = 0; compatible && d < s.size(); ++d) compatible = d == axis || s[d] == first[d];
    if (!compatible) {
      throw node_error(node, "input " + std::to_string(i) + " has shape " + to_string(s) + ", which does not concatenate with " +
                                 to_string(first) + " along axis " + std::to_string(axis));
    }
    out[axis] += s[axis];
  }
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

void concat(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Shape& shape = out[0].shape;
  const auto axis = static_cast<std::size_t>(normalize_axis(node.attr_int("axis", 0), shape.size()));
  const std::size_t size = element_size(out[0].dtype);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  const std::size_t out_row = static_cast<std::size_t>(shape[axis] * inner) * size;
  auto* dst = out[0].as<std::byte>();
  std::size_t column = 0;  // byte offset of the current input inside an output row
  for (const ConstTensorView& x : in) {
    const std::size_t row = static_cast<std::size_t>(x.shape[axis] * inner) * size;
    const auto* src = x.as<std::byte>();
    if (row) {
      for (std::int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * out_row + column, src + o * row, row);
    }
    column += row;
  }
}

}  // namespace

const OpSchema kConcat{"Concat", 4, infer_concat, concat};

}  // namespace detstream::inference::ops
