// Elementwise ops: NumPy-broadcast binary arithmetic (float32, int64, int32) and float unary
// activations. Reference kernels; the CPU backend fuses the hot ones into convolutions.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "inference/core/error.h"
#include "inference/ops/broadcast.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_binary(const Node& node, std::span<const InputInfo> in) {
  if (in.size() != 2 || !in[0].present() || !in[1].present()) {
    throw Error(node.op_type + " '" + node.name + "' needs two inputs");
  }
  if (in[0].dtype != in[1].dtype) {
    throw Error(node.op_type + " '" + node.name + "': input types differ (" + std::string(to_string(in[0].dtype)) +
                " vs " + std::string(to_string(in[1].dtype)) + ")");
  }
  return {OutputInfo{in[0].dtype, broadcast_shapes(in[0].shape, in[1].shape), nullptr}};
}

template <typename T, typename Op>
void binary_loop(std::span<const ConstTensorView> in, const TensorView& out, Op op) {
  const T* a = in[0].as<T>();
  const T* b = in[1].as<T>();
  T* o = out.as<T>();
  for_each_broadcast(in[0].shape, in[1].shape, out.shape,
                     [&](std::int64_t i, std::int64_t ia, std::int64_t ib) { o[i] = op(a[ia], b[ib]); });
}

template <typename Op>
void binary_typed(const Node& node, std::span<const ConstTensorView> in, const TensorView& out, Op op) {
  switch (out.dtype) {
    case DataType::kFloat32: binary_loop<float>(in, out, op); break;
    case DataType::kFloat64: binary_loop<double>(in, out, op); break;
    case DataType::kInt64: binary_loop<std::int64_t>(in, out, op); break;
    case DataType::kInt32: binary_loop<std::int32_t>(in, out, op); break;
    default: throw Error(node.op_type + " '" + node.name + "': type " + std::string(to_string(out.dtype)) + " not supported");
  }
}

void add(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  binary_typed(n, in, out[0], [](auto a, auto b) { return a + b; });
}
void sub(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  binary_typed(n, in, out[0], [](auto a, auto b) { return a - b; });
}
void mul(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  binary_typed(n, in, out[0], [](auto a, auto b) { return a * b; });
}
void div(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  binary_typed(n, in, out[0], [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) throw Error("Div: integer division by zero");
    }
    return static_cast<T>(a / b);
  });
}

std::vector<OutputInfo> infer_unary(const Node& node, std::span<const InputInfo> in) {
  if (in.empty() || !in[0].present()) throw Error(node.op_type + " '" + node.name + "' needs one input");
  return {same_as(in[0])};
}

template <typename Fn>
void unary_float(const Node& node, std::span<const ConstTensorView> in, const TensorView& out, Fn fn) {
  if (out.dtype != DataType::kFloat32) {
    throw Error(node.op_type + " '" + node.name + "': only float32 is supported, got " + std::string(to_string(out.dtype)));
  }
  const float* x = in[0].as<float>();
  float* y = out.as<float>();
  const std::int64_t count = out.count();
  for (std::int64_t i = 0; i < count; ++i) y[i] = fn(x[i]);
}

void sigmoid(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  unary_float(n, in, out[0], [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}
void relu(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  unary_float(n, in, out[0], [](float v) { return v > 0.0f ? v : 0.0f; });
}
void identity(const Node&, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const std::size_t bytes = static_cast<std::size_t>(out[0].count()) * element_size(out[0].dtype);
  if (bytes && out[0].data != in[0].data) std::memcpy(out[0].data, in[0].data, bytes);
}

}  // namespace

const OpSchema kAdd{"Add", 1, infer_binary, add};
const OpSchema kSub{"Sub", 1, infer_binary, sub};
const OpSchema kMul{"Mul", 1, infer_binary, mul};
const OpSchema kDiv{"Div", 1, infer_binary, div};
const OpSchema kSigmoid{"Sigmoid", 1, infer_unary, sigmoid};
const OpSchema kRelu{"Relu", 1, infer_unary, relu};
const OpSchema kIdentity{"Identity", 1, infer_unary, identity};

}  // namespace detstream::inference::ops
