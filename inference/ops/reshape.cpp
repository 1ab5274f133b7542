// Ops that only change the shape, never the bytes: Reshape (opset 5+: 0 copies the input
// dimension unless allowzero, one -1 is inferred), Flatten, Squeeze and Unsqueeze (axes as an
// attribute before opset 13, as an input from 13). Any element type. Shape operands must be known
// at build time. The reference kernel copies the bytes.
#include <algorithm>
#include <cstring>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

void copy_bytes(const Node&, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const std::size_t bytes = static_cast<std::size_t>(out[0].count()) * element_size(out[0].dtype);
  if (bytes && out[0].data != in[0].data) std::memcpy(out[0].data, in[0].data, bytes);
}

int axis_in(const Node& node, std::int64_t axis, std::size_t rank, const char* what) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) {
    throw node_error(node, std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

std::vector<OutputInfo> infer_reshape(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  const Shape& x = in[0].shape;
  const std::vector<std::int64_t> requested = constant_ints(in[1], node, "shape");
  if (in[1].shape.size() != 1) throw node_error(node, "input 'shape' must be 1-D, got " + to_string(in[1].shape));
  const bool allowzero = node.attr_int("allowzero", 0) != 0;
  Shape out(requested.size());
  int inferred = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < requested.size(); ++i) {
    const std::int64_t d = requested[i];
    if (d == -1) {
      if (inferred >= 0) throw node_error(node, "input 'shape' has more than one -1");
      inferred = static_cast<int>(i);
      continue;
    }
    if (d < -1) throw node_error(node, "input 'shape' has invalid dimension " + std::to_string(d));
    if (d == 0 && !allowzero) {
      if (i >= x.size()) {
        throw node_error(node, "input 'shape' copies dimension " + std::to_string(i) + " (0) but the data has rank " +
                                   std::to_string(x.size()));
      }
      out[i] = x[i];
    } else {
      out[i] = d;
    }
    known *= out[i];
  }
  const std::int64_t total = element_count(x);
  if (inferred >= 0) {
    if (allowzero && std::find(requested.begin(), requested.end(), 0) != requested.end()) {
      throw node_error(node, "with allowzero=1, input 'shape' may not hold both 0 and -1");
    }
    if (known == 0 || total % known != 0) {
      throw node_error(node, "cannot reshape " + to_string(x) + " to " + list_string(requested) + " (-1 does not divide)");
    }
    out[static_cast<std::size_t>(inferred)] = total / known;
  }
  if (element_count(out) != total) {
    throw node_error(node, "cannot reshape " + to_string(x) + " (" + std::to_string(total) + " elements) to " +
                               to_string(out));
  }
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

std::vector<OutputInfo> infer_flatten(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  const Shape& x = in[0].shape;
  const auto rank = static_cast<std::int64_t>(x.size());
  std::int64_t axis = node.attr_int("axis", 1);
  if (axis < -rank || axis > rank) {
    throw node_error(node, "attribute 'axis' = " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x[static_cast<std::size_t>(i)];
  return {OutputInfo{in[0].dtype, Shape{outer, inner}, nullptr}};
}

// Axes of Squeeze/Unsqueeze: the attribute before opset 13, input 1 from 13.
std::vector<std::int64_t> axes_operand(const Node& node, std::span<const InputInfo> in, bool* given) {
  if (node.opset < 13) {
    *given = node.has_attribute("axes");
    return node.attr_ints("axes");
  }
  *given = in.size() > 1 && in[1].present();
  return *given ? constant_ints(in[1], node, "axes") : std::vector<std::int64_t>{};
}

std::vector<OutputInfo> infer_squeeze(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, node.opset < 13 ? 1 : 2);
  const Shape& x = in[0].shape;
  bool given = false;
  const std::vector<std::int64_t> axes = axes_operand(node, in, &given);
  std::vector<char> drop(x.size(), 0);
  if (!given) {
    for (std::size_t i = 0; i < x.size(); ++i) drop[i] = x[i] == 1;
  }
  for (std::int64_t a : axes) {
    const int axis = axis_in(node, a, x.size(), "axes entry");
    if (x[static_cast<std::size_t>(axis)] != 1) {
      throw node_error(node, "cannot squeeze axis " + std::to_string(a) + " of " + to_string(x) + " (size is not 1)");
    }
    drop[static_cast<std::size_t>(axis)] = 1;
  }
  Shape out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!drop[i]) out.push_back(x[i]);
  }
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

std::vector<OutputInfo> infer_unsqueeze(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), node.opset < 13 ? 1 : 2, node.opset < 13 ? 1 : 2);
  const Shape& x = in[0].shape;
  bool given = false;
  const std::vector<std::int64_t> axes = axes_operand(node, in, &given);
  if (!given) throw node_error(node, node.opset < 13 ? "attribute 'axes' is required" : "input 'axes' is required");
  const std::size_t rank = x.size() + axes.size();
  std::vector<char> inserted(rank, 0);
  for (std::int64_t a : axes) {
    const int axis = axis_in(node, a, rank, "axes entry");
    if (inserted[static_cast<std::size_t>(axis)]) throw node_error(node, "axes repeat axis " + std::to_string(a));
    inserted[static_cast<std::size_t>(axis)] = 1;
  }
  Shape out(rank);
  for (std::size_t i = 0, j = 0; i < rank; ++i) out[i] = inserted[i] ? 1 : x[j++];
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

}  // namespace

const OpSchema kReshape{"Reshape", 5, infer_reshape, copy_bytes, 1u << 1};
const OpSchema kFlatten{"Flatten", 1, infer_flatten, copy_bytes};
const OpSchema kSqueeze{"Squeeze", 1, infer_squeeze, copy_bytes, 1u << 1};
const OpSchema kUnsqueeze{"Unsqueeze", 1, infer_unsqueeze, copy_bytes, 1u << 1};

}  // namespace detstream::inference::ops
