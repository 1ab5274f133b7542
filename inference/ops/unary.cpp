// Unary elementwise ops: activations (Sigmoid, Relu, Tanh, LeakyRelu, HardSigmoid, HardSwish),
// maths (Exp, Sqrt, Neg), Clip (min/max attributes before opset 11, optional scalar inputs
// from 11) and Identity (any type, a copy). Transcendental ops take float32/float64; Relu, Neg and
// Clip also take integer types.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_unary(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  return {same_as(in[0])};
}

std::vector<OutputInfo> infer_unary_float(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  dispatch_float(node, in[0].dtype, [](auto) {});
  return {same_as(in[0])};
}

std::vector<OutputInfo> infer_unary_numeric(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  dispatch_numeric(node, in[0].dtype, [](auto) {});
  return {same_as(in[0])};
}

template <typename Fn>
void map_float(const Node& node, const ConstTensorView& x, const TensorView& y, Fn fn) {
  dispatch_float(node, x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.as<T>();
    T* dst = y.as<T>();
    const std::int64_t count = y.count();
    for (std::int64_t i = 0; i < count; ++i) dst[i] = static_cast<T>(fn(src[i]));
  });
}

template <typename Fn>
void map_numeric(const Node& node, const ConstTensorView& x, const TensorView& y, Fn fn) {
  dispatch_numeric(node, x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.as<T>();
    T* dst = y.as<T>();
    const std::int64_t count = y.count();
    for (std::int64_t i = 0; i < count; ++i) dst[i] = static_cast<T>(fn(src[i]));
  });
}

void sigmoid(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_float(n, in[0], out[0], [](auto v) { return 1 / (1 + std::exp(-v)); });
}
void tanh_op(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_float(n, in[0], out[0], [](auto v) { return std::tanh(v); });
}
void exp_op(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_float(n, in[0], out[0], [](auto v) { return std::exp(v); });
}
void sqrt_op(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_float(n, in[0], out[0], [](auto v) { return std::sqrt(v); });
}
void leaky_relu(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const double alpha = n.attr_float("alpha", 0.01f);
  map_float(n, in[0], out[0], [alpha](auto v) { return v >= 0 ? v : static_cast<decltype(v)>(alpha * v); });
}
void hard_sigmoid(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const double alpha = n.attr_float("alpha", 0.2f), beta = n.attr_float("beta", 0.5f);
  map_float(n, in[0], out[0], [=](auto v) { return std::clamp(alpha * v + beta, 0.0, 1.0); });
}
void hard_swish(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_float(n, in[0], out[0], [](auto v) { return v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0); });
}
void relu(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_numeric(n, in[0], out[0], [](auto v) { return v > 0 ? v : decltype(v){0}; });
}
void neg(const Node& n, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  map_numeric(n, in[0], out[0], [](auto v) { return -v; });
}

void identity(const Node&, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const std::size_t bytes = static_cast<std::size_t>(out[0].count()) * element_size(out[0].dtype);
  if (bytes && out[0].data != in[0].data) std::memcpy(out[0].data, in[0].data, bytes);
}

std::vector<OutputInfo> infer_clip(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, node.opset < 11 ? 1 : 3);
  dispatch_numeric(node, in[0].dtype, [](auto) {});
  for (std::size_t i = 1; i < in.size(); ++i) {
    if (!in[i].present()) continue;
    if (in[i].dtype != in[0].dtype || element_count(in[i].shape) != 1) {
      throw node_error(node, std::string(i == 1 ? "min" : "max") + " must be a scalar of the input's type, got " +
                                 std::string(to_string(in[i].dtype)) + " " + to_string(in[i].shape));
    }
  }
  return {same_as(in[0])};
}

void clip(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  dispatch_numeric(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (node.opset < 11) {  // float-only in those opsets: min/max attributes
      if (node.has_attribute("min")) lo = static_cast<T>(node.attr_float("min", 0.0f));
      if (node.has_attribute("max")) hi = static_cast<T>(node.attr_float("max", 0.0f));
    } else {
      if (in.size() > 1 && in[1].data) lo = *in[1].as<T>();
      if (in.size() > 2 && in[2].data) hi = *in[2].as<T>();
    }
    const T* src = in[0].as<T>();
    T* dst = out[0].as<T>();
    const std::int64_t count = out[0].count();
    // ONNX: when min > max every value becomes max.
    for (std::int64_t i = 0; i < count; ++i) dst[i] = std::min(std::max(src[i], lo), hi);
  });
}

}  // namespace

const OpSchema kSigmoid{"Sigmoid", 1, infer_unary_float, sigmoid};
const OpSchema kTanh{"Tanh", 1, infer_unary_float, tanh_op};
const OpSchema kExp{"Exp", 1, infer_unary_float, exp_op};
const OpSchema kSqrt{"Sqrt", 1, infer_unary_float, sqrt_op};
const OpSchema kLeakyRelu{"LeakyRelu", 1, infer_unary_float, leaky_relu};
const OpSchema kHardSigmoid{"HardSigmoid", 1, infer_unary_float, hard_sigmoid};
const OpSchema kHardSwish{"HardSwish", 14, infer_unary_float, hard_swish};
const OpSchema kRelu{"Relu", 1, infer_unary_numeric, relu};
const OpSchema kNeg{"Neg", 1, infer_unary_numeric, neg};
const OpSchema kIdentity{"Identity", 1, infer_unary, identity};
const OpSchema kClip{"Clip", 6, infer_clip, clip};

}  // namespace detstream::inference::ops
