// Binary arithmetic with NumPy (multidirectional) broadcasting: Add, Sub, Mul, Div (opset 7+,
// float32/float64 and integer types; integer Div truncates like C++ and rejects division by
// zero) and Pow (output has the base's type; the exponent may have another numeric type).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "inference/ops/broadcast.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

Shape broadcast_for(const Node& node, const Shape& a, const Shape& b) {
  try {
    return broadcast_shapes(a, b);
  } catch (const Error& e) {
    throw node_error(node, e.what());
  }
}

bool is_numeric(DataType t) {
  switch (t) {
    case DataType::kFloat32:
    case DataType::kFloat64:
    case DataType::kInt64:
    case DataType::kInt32:
    case DataType::kInt8:
    case DataType::kUInt8: return true;
    default: return false;
  }
}

std::vector<OutputInfo> infer_arithmetic(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  if (in[0].dtype != in[1].dtype) {
    throw node_error(node, "input types differ (" + std::string(to_string(in[0].dtype)) + " vs " +
                               std::string(to_string(in[1].dtype)) + ")");
  }
  if (!is_numeric(in[0].dtype)) throw node_error(node, "element type " + std::string(to_string(in[0].dtype)) + " is not supported");
  return {OutputInfo{in[0].dtype, broadcast_for(node, in[0].shape, in[1].shape), nullptr}};
}

template <typename Op>
void arithmetic(const Node& node, std::span<const ConstTensorView> in, const TensorView& out, Op op) {
  dispatch_numeric(node, out.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* a = in[0].as<T>();
    const T* b = in[1].as<T>();
    T* o = out.as<T>();
    for_each_broadcast(in[0].shape, in[1].shape, out.shape,
                       [&](std::int64_t i, std::int64_t ia, std::int64_t ib) { o[i] = static_cast<T>(op(a[ia], b[ib])); });
  });
}

void add(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  arithmetic(n, in, out[0], [](auto a, auto b) { return a + b; });
}
void sub(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  arithmetic(n, in, out[0], [](auto a, auto b) { return a - b; });
}
void mul(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  arithmetic(n, in, out[0], [](auto a, auto b) { return a * b; });
}
void div(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  arithmetic(n, in, out[0], [&n](auto a, auto b) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      if (b == 0) throw node_error(n, "integer division by zero");
    }
    return a / b;
  });
}

std::vector<OutputInfo> infer_pow(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 2);
  for (const InputInfo& i : in) {
    if (!is_numeric(i.dtype)) throw node_error(node, "element type " + std::string(to_string(i.dtype)) + " is not supported");
  }
  return {OutputInfo{in[0].dtype, broadcast_for(node, in[0].shape, in[1].shape), nullptr}};
}

void pow(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  dispatch_numeric(node, in[0].dtype, [&](auto base_tag) {
    using T = decltype(base_tag);
    dispatch_numeric(node, in[1].dtype, [&](auto exp_tag) {
      using U = decltype(exp_tag);
      const T* a = in[0].as<T>();
      const U* b = in[1].as<U>();
      T* o = out[0].as<T>();
      for_each_broadcast(in[0].shape, in[1].shape, out[0].shape, [&](std::int64_t i, std::int64_t ia, std::int64_t ib) {
        o[i] = static_cast<T>(std::pow(static_cast<double>(a[ia]), static_cast<double>(b[ib])));
      });
    });
  });
}

}  // namespace

const OpSchema kAdd{"Add", 7, infer_arithmetic, add};
const OpSchema kSub{"Sub", 7, infer_arithmetic, sub};
const OpSchema kMul{"Mul", 7, infer_arithmetic, mul};
const OpSchema kDiv{"Div", 7, infer_arithmetic, div};
const OpSchema kPow{"Pow", 7, infer_pow, pow};

}  // namespace detstream::inference::ops
