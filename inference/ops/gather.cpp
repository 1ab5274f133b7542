// Gather (opset 1+): picks slices of `data` along `axis` by int32/int64 indices (negative indices
// count from the end; out of range is an error). Output: data[:axis] + indices + data[axis+1:].
// Any data type.
#include <cstring>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_gather(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  const Shape& data = in[0].shape;
  const auto rank = static_cast<std::int64_t>(data.size());
  const std::int64_t axis_attr = node.attr_int("axis", 0);
  if (axis_attr < -rank || axis_attr >= rank) {
    throw node_error(node, "attribute 'axis' = " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(rank));
  }
  if (in[1].dtype != DataType::kInt64 && in[1].dtype != DataType::kInt32) {
    throw node_error(node, "indices must be int32 or int64, got " + std::string(to_string(in[1].dtype)));
  }
  const auto axis = static_cast<std::size_t>(axis_attr < 0 ? axis_attr + rank : axis_attr);
  if (in[1].constant) {
    for (std::int64_t i : in[1].constant->to_int64_vector()) {
      if (i < -data[axis] || i >= data[axis]) {
        throw node_error(node, "index " + std::to_string(i) + " is out of range for axis " + std::to_string(axis) +
                                   " of size " + std::to_string(data[axis]));
      }
    }
  }
  Shape out(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), in[1].shape.begin(), in[1].shape.end());
  out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.end());
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

void gather(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Shape& data = in[0].shape;
  const auto axis = static_cast<std::size_t>(normalize_axis(node.attr_int("axis", 0), data.size()));
  const std::size_t size = element_size(in[0].dtype);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= data[d];
  for (std::size_t d = axis + 1; d < data.size(); ++d) inner *= data[d];
  const std::int64_t dim = data[axis], count = in[1].count();
  const std::size_t chunk = static_cast<std::size_t>(inner) * size;
  const auto* src = in[0].as<std::byte>();
  auto* dst = out[0].as<std::byte>();
  for (std::int64_t j = 0; j < count; ++j) {
    std::int64_t index = in[1].dtype == DataType::kInt32 ? in[1].as<std::int32_t>()[j] : in[1].as<std::int64_t>()[j];
    if (index < -dim || index >= dim) {
      throw node_error(node, "index " + std::to_string(index) + " is out of range for axis size " + std::to_string(dim));
    }
    if (index < 0) index += dim;
    if (!chunk) continue;
    for (std::int64_t o = 0; o < outer; ++o) {
      std::memcpy(dst + (o * count + j) * static_cast<std::int64_t>(chunk), src + (o * dim + index) * static_cast<std::int64_t>(chunk), chunk);
    }
  }
}

}  // namespace

const OpSchema kGather{"Gather", 1, infer_gather, gather};

}  // namespace detstream::inference::ops
