// Split: cuts the input along `axis` into the node's outputs. Sizes come from the 'split'
// attribute (opset 2-12) or the 'split' input (opset 13+, known at build time); without sizes the
// dimension is split evenly, and from opset 18 'num_outputs' splits into chunks of
// ceil(dim / num_outputs) with a smaller last chunk. Any element type.
#include <cstring>
#include <numeric>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

// `given` holds the explicit sizes (attribute or input), if any.
std::vector<std::int64_t> split_sizes(const Node& node, const std::vector<std::int64_t>* given, std::int64_t dim) {
  const auto outputs = static_cast<std::int64_t>(node.outputs.size());
  std::vector<std::int64_t> sizes;
  if (given) {
    sizes = *given;
    if (node.opset >= 18 && node.has_attribute("num_outputs")) {
      throw node_error(node, "give either the 'split' input or the 'num_outputs' attribute, not both");
    }
    if (static_cast<std::int64_t>(sizes.size()) != outputs) {
      throw node_error(node, "'split' has " + std::to_string(sizes.size()) + " sizes but the node has " +
                                 std::to_string(outputs) + " outputs");
    }
    for (std::int64_t s : sizes) {
      if (s < 0) throw node_error(node, "'split' has a negative size: " + list_string(sizes));
    }
    if (std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) != dim) {
      throw node_error(node, "'split' sizes " + list_string(sizes) + " do not add up to the dimension " + std::to_string(dim));
    }
    return sizes;
  }
  if (node.opset >= 18 && node.has_attribute("num_outputs")) {
    const std::int64_t n = node.attr_int("num_outputs", 0);
    if (n < 1 || n != outputs) {
      throw node_error(node, "attribute 'num_outputs' = " + std::to_string(n) + " but the node has " + std::to_string(outputs) +
                                 " outputs");
    }
    const std::int64_t chunk = (dim + n - 1) / n;
    if (chunk * (n - 1) >= dim && n > 1) {
      throw node_error(node, "attribute 'num_outputs' = " + std::to_string(n) + " leaves the last chunk of dimension " +
                                 std::to_string(dim) + " empty");
    }
    sizes.assign(static_cast<std::size_t>(n), chunk);
    sizes.back() = dim - chunk * (n - 1);
    return sizes;
  }
  if (outputs < 1 || dim % outputs != 0) {
    throw node_error(node, "dimension " + std::to_string(dim) + " does not split evenly into " + std::to_string(outputs) +
                               " outputs (give 'split' sizes)");
  }
  return std::vector<std::int64_t>(static_cast<std::size_t>(outputs), dim / outputs);
}

std::vector<OutputInfo> infer_split(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, node.opset < 13 ? 1 : 2);
  const Shape& x = in[0].shape;
  const auto rank = static_cast<std::int64_t>(x.size());
  const std::int64_t axis_attr = node.attr_int("axis", 0);
  if (axis_attr < -rank || axis_attr >= rank) {
    throw node_error(node, "attribute 'axis' = " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(rank));
  }
  const auto axis = static_cast<std::size_t>(axis_attr < 0 ? axis_attr + rank : axis_attr);
  std::vector<std::int64_t> given;
  bool has_sizes = false;
  if (node.opset < 13) {
    has_sizes = node.has_attribute("split");
    given = node.attr_ints("split");
  } else if (in.size() > 1 && in[1].present()) {
    has_sizes = true;
    given = constant_ints(in[1], node, "split");
  }
  const std::vector<std::int64_t> sizes = split_sizes(node, has_sizes ? &given : nullptr, x[axis]);
  std::vector<OutputInfo> outs;
  for (std::int64_t s : sizes) {
    Shape shape = x;
    shape[axis] = s;
    outs.push_back(OutputInfo{in[0].dtype, shape, nullptr});
  }
  return outs;
}

// Size of chunk `i` of `dim` split into `chunks` outputs, from the operands infer validated. Reads
// them in place: this runs per frame and must not allocate.
std::int64_t chunk_size(const Node& node, std::span<const ConstTensorView> in, std::int64_t dim, std::size_t chunks,
                        std::size_t i) {
  if (node.opset < 13) {
    const auto it = node.attributes.find("split");
    if (it != node.attributes.end()) return it->second.ints[i];
  } else if (in.size() > 1 && in[1].data) {
    return in[1].dtype == DataType::kInt32 ? in[1].as<std::int32_t>()[i] : in[1].as<std::int64_t>()[i];
  }
  const auto n = static_cast<std::int64_t>(chunks);
  if (node.opset >= 18 && node.has_attribute("num_outputs")) {
    const std::int64_t chunk = (dim + n - 1) / n;
    return i + 1 < chunks ? chunk : dim - chunk * (n - 1);
  }
  return dim / n;
}

void split(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Shape& shape = in[0].shape;
  const auto axis = static_cast<std::size_t>(normalize_axis(node.attr_int("axis", 0), shape.size()));
  const std::size_t size = element_size(in[0].dtype);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  const std::size_t in_row = static_cast<std::size_t>(shape[axis] * inner) * size;
  const auto* src = in[0].as<std::byte>();
  std::size_t column = 0;
  // Sizes come from the operands, not the output views: an absent output has no shape.
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::size_t row = static_cast<std::size_t>(chunk_size(node, in, shape[axis], out.size(), i) * inner) * size;
    if (out[i].data && row) {
      auto* dst = out[i].as<std::byte>();
      for (std::int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * row, src + o * in_row + column, row);
    }
    column += row;
  }
}

}  // namespace

const OpSchema kSplit{"Split", 2, infer_split, split, 1u << 1};

}  // namespace detstream::inference::ops
