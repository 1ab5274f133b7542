// Comparison and selection: Equal (numeric or bool inputs of one type, bool output, broadcast)
// and Where (bool condition choosing between X and Y of any one type, three-way broadcast).
#include <array>
#include <cstring>

#include "inference/ops/broadcast.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

Shape broadcast_all(const Node& node, std::span<const InputInfo> in) {
  Shape out = in[0].shape;
  try {
    for (std::size_t i = 1; i < in.size(); ++i) out = broadcast_shapes(out, in[i].shape);
  } catch (const Error& e) {
    throw node_error(node, e.what());
  }
  return out;
}

std::vector<OutputInfo> infer_equal(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  if (in[0].dtype != in[1].dtype) {
    throw node_error(node, "input types differ (" + std::string(to_string(in[0].dtype)) + " vs " +
                               std::string(to_string(in[1].dtype)) + ")");
  }
  dispatch_numeric_or_bool(node, in[0].dtype, [](auto) {});
  return {OutputInfo{DataType::kBool, broadcast_all(node, in), nullptr}};
}

void equal(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  dispatch_numeric_or_bool(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* a = in[0].as<T>();
    const T* b = in[1].as<T>();
    bool* o = out[0].as<bool>();
    for_each_broadcast(in[0].shape, in[1].shape, out[0].shape,
                       [&](std::int64_t i, std::int64_t ia, std::int64_t ib) { o[i] = a[ia] == b[ib]; });
  });
}

std::vector<OutputInfo> infer_where(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 3, 3);
  if (in[0].dtype != DataType::kBool) {
    throw node_error(node, "condition must be bool, got " + std::string(to_string(in[0].dtype)));
  }
  if (in[1].dtype != in[2].dtype) {
    throw node_error(node, "X and Y types differ (" + std::string(to_string(in[1].dtype)) + " vs " +
                               std::string(to_string(in[2].dtype)) + ")");
  }
  if (element_size(in[1].dtype) == 0) throw node_error(node, "X has an unsupported element type");
  return {OutputInfo{in[1].dtype, broadcast_all(node, in), nullptr}};
}

// Type-agnostic: copies whole elements by size.
void where(const Node&, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const std::size_t size = element_size(out[0].dtype);
  const auto* cond = in[0].as<std::uint8_t>();
  const auto* x = in[1].as<std::byte>();
  const auto* y = in[2].as<std::byte>();
  auto* o = out[0].as<std::byte>();
  for_each_broadcast_n<3>({&in[0].shape, &in[1].shape, &in[2].shape}, out[0].shape,
                          [&](std::int64_t i, const std::array<std::int64_t, 3>& off) {
                            const std::byte* src = cond[off[0]] ? x + off[1] * size : y + off[2] * size;
                            std::memcpy(o + i * size, src, size);
                          });
}

}  // namespace

const OpSchema kEqual{"Equal", 7, infer_equal, equal};
const OpSchema kWhere{"Where", 9, infer_where, where};

}  // namespace detstream::inference::ops
