// Cast (opset 6+): converts between every element type the engine stores (float32/64, float16,
// bfloat16, int64/32/8, uint8, bool). Floats to integers truncate toward zero; anything to bool is
// "not zero"; float16/bfloat16 round to nearest even. Strings are rejected at build time.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

// Half types travel as their bit patterns; these tags keep them apart from uint16 integers.
struct Half {
  std::uint16_t bits;
};
struct BHalf {
  std::uint16_t bits;
};

template <typename Fn>
void dispatch_any(const Node& node, DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kFloat32: fn(float{}); return;
    case DataType::kFloat64: fn(double{}); return;
    case DataType::kFloat16: fn(Half{}); return;
    case DataType::kBFloat16: fn(BHalf{}); return;
    case DataType::kInt64: fn(std::int64_t{}); return;
    case DataType::kInt32: fn(std::int32_t{}); return;
    case DataType::kInt8: fn(std::int8_t{}); return;
    case DataType::kUInt8: fn(std::uint8_t{}); return;
    case DataType::kBool: fn(bool{}); return;
    default: throw node_error(node, "element type " + std::string(to_string(type)) + " cannot be cast");
  }
}

// Reads as double for floating sources, as int64 for integral ones (exact for large int64).
template <typename T>
auto load(const T& v) {
  if constexpr (std::is_same_v<T, Half>) return static_cast<double>(half_to_float(v.bits));
  else if constexpr (std::is_same_v<T, BHalf>) return static_cast<double>(bfloat16_to_float(v.bits));
  else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
  else return static_cast<std::int64_t>(v);
}

template <typename D, typename V>
D store(V v) {
  if constexpr (std::is_same_v<D, Half>) return Half{float_to_half(static_cast<float>(v))};
  else if constexpr (std::is_same_v<D, BHalf>) return BHalf{float_to_bfloat16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<D, bool>) return v != 0;
  else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<V>) {
    // Out-of-range and NaN conversions are undefined in C++; saturate them instead.
    if (std::isnan(v)) return D{0};
    if (v <= static_cast<V>(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
    if (v >= static_cast<V>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    return static_cast<D>(v);
  } else {
    return static_cast<D>(v);
  }
}

DataType target_type(const Node& node) {
  if (!node.has_attribute("to")) throw node_error(node, "attribute 'to' is required");
  const auto code = node.attr_int("to", 0);
  const DataType type = data_type_from_onnx(static_cast<int>(code));
  if (type == DataType::kUndefined) {
    throw node_error(node, "attribute 'to' = " + std::to_string(code) + " names a type the engine does not support");
  }
  return type;
}

std::vector<OutputInfo> infer_cast(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  const DataType to = target_type(node);
  dispatch_any(node, in[0].dtype, [](auto) {});
  return {OutputInfo{to, in[0].shape, nullptr}};
}

void cast(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const std::int64_t count = out[0].count();
  if (in[0].dtype == out[0].dtype) {
    if (count) std::memcpy(out[0].data, in[0].data, static_cast<std::size_t>(count) * element_size(in[0].dtype));
    return;
  }
  dispatch_any(node, in[0].dtype, [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_any(node, out[0].dtype, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      const S* src = in[0].as<S>();
      D* dst = out[0].as<D>();
      for (std::int64_t i = 0; i < count; ++i) dst[i] = store<D>(load(src[i]));
    });
  });
}

}  // namespace

const OpSchema kCast{"Cast", 6, infer_cast, cast};

}  // namespace detstream::inference::ops
