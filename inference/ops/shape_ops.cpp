// Tensors made from shapes, the build-time arithmetic of dynamic exports: Shape (start/end of
// opset 15; its output is a constant whenever inference runs, since shapes are bound by then),
// ConstantOfShape (shape input known at build time, 'value' attribute, default float32 0) and
// Range (start/limit/delta scalars known at build time: the output length depends on them).
#include <cmath>
#include <cstring>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

// The [start, end) window of opset 15, clamped to the rank.
std::pair<std::int64_t, std::int64_t> shape_window(const Node& node, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  auto clamp = [r](std::int64_t v) {
    if (v < 0) v += r;
    return v < 0 ? 0 : (v > r ? r : v);
  };
  const std::int64_t start = clamp(node.attr_int("start", 0));
  const std::int64_t end = node.has_attribute("end") ? clamp(node.attr_int("end", r)) : r;
  return {start, end < start ? start : end};
}

std::vector<std::int64_t> shape_values(const Node& node, const Shape& shape) {
  const auto [start, end] = shape_window(node, shape.size());
  return {shape.begin() + start, shape.begin() + end};
}

std::vector<OutputInfo> infer_shape(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  const std::vector<std::int64_t> values = shape_values(node, in[0].shape);
  const Shape out{static_cast<std::int64_t>(values.size())};
  std::shared_ptr<const Tensor> constant;
  if (is_static(in[0].shape)) constant = std::make_shared<const Tensor>(Tensor::from_int64(values, out));
  return {OutputInfo{DataType::kInt64, out, constant}};
}

void shape(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const std::vector<std::int64_t> values = shape_values(node, in[0].shape);
  if (!values.empty()) std::memcpy(out[0].data, values.data(), values.size() * sizeof(std::int64_t));
}

const Tensor& fill_value(const Node& node) {
  static const Tensor zero = Tensor::from_float({0.0f}, {1});
  const auto it = node.attributes.find("value");
  if (it == node.attributes.end()) return zero;
  if (it->second.kind != Attribute::Kind::kTensor || it->second.tensor.count() != 1) {
    throw node_error(node, "attribute 'value' must be a one-element tensor");
  }
  return it->second.tensor;
}

std::vector<OutputInfo> infer_constant_of_shape(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  if (in[0].shape.size() != 1) throw node_error(node, "input must be 1-D, got " + to_string(in[0].shape));
  const std::vector<std::int64_t> shape = constant_ints(in[0], node, "shape");
  for (std::int64_t d : shape) {
    if (d < 0) throw node_error(node, "input shape " + list_string(shape) + " has a negative dimension");
  }
  return {OutputInfo{fill_value(node).dtype(), shape, nullptr}};
}

void constant_of_shape(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Tensor& value = fill_value(node);
  const std::size_t size = element_size(value.dtype());
  auto* dst = out[0].as<std::byte>();
  const std::int64_t count = out[0].count();
  for (std::int64_t i = 0; i < count; ++i) std::memcpy(dst + i * static_cast<std::int64_t>(size), value.raw(), size);
}

template <typename T>
std::int64_t range_length(T start, T limit, T delta) {
  const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
  return n > 0 ? static_cast<std::int64_t>(n) : 0;
}

std::vector<OutputInfo> infer_range(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 3, 3);
  const char* names[] = {"start", "limit", "delta"};
  for (std::size_t i = 0; i < 3; ++i) {
    if (in[i].dtype != in[0].dtype || element_count(in[i].shape) != 1) {
      throw node_error(node, std::string("input '") + names[i] + "' must be a scalar of the type of 'start'");
    }
    if (!in[i].constant) {
      throw node_error(node, std::string("input '") + names[i] +
                                 "' must be known at build time (the output length depends on it)");
    }
  }
  std::int64_t length = 0;
  dispatch_numeric(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T delta = in[2].constant->data<T>()[0];
    if (delta == T{0}) throw node_error(node, "input 'delta' is 0");
    length = range_length(in[0].constant->data<T>()[0], in[1].constant->data<T>()[0], delta);
  });
  return {OutputInfo{in[0].dtype, Shape{length}, nullptr}};
}

void range(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  dispatch_numeric(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T start = in[0].as<T>()[0], delta = in[2].as<T>()[0];
    T* dst = out[0].as<T>();
    const std::int64_t count = out[0].count();
    for (std::int64_t i = 0; i < count; ++i) dst[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  });
}

}  // namespace

const OpSchema kShape{"Shape", 1, infer_shape, shape};
const OpSchema kConstantOfShape{"ConstantOfShape", 9, infer_constant_of_shape, constant_of_shape, 1u << 0};
const OpSchema kRange{"Range", 11, infer_range, range, 0b111u};

}  // namespace detstream::inference::ops
