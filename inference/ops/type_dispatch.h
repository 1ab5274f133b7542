// Element-type dispatch for reference kernels: calls fn(T{}) with the C++ type of a DataType.
// Each family lists the types it accepts; any other type throws an Error naming the node, so a
// kernel never reinterprets bytes of a type it was not written for. Header-only; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "inference/core/data_type.h"
#include "inference/ops/op_error.h"

namespace detstream::inference::ops {

// float32/float64 only (transcendental math).
template <typename Fn>
void dispatch_float(const Node& node, DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kFloat32: fn(float{}); return;
    case DataType::kFloat64: fn(double{}); return;
    default:
      throw node_error(node, "element type " + std::string(to_string(type)) + " is not supported (float32/float64 only)");
  }
}

// Arithmetic types: float32, float64 and the integer types of shape chains and small tensors.
template <typename Fn>
void dispatch_numeric(const Node& node, DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kFloat32: fn(float{}); return;
    case DataType::kFloat64: fn(double{}); return;
    case DataType::kInt64: fn(std::int64_t{}); return;
    case DataType::kInt32: fn(std::int32_t{}); return;
    case DataType::kInt8: fn(std::int8_t{}); return;
    case DataType::kUInt8: fn(std::uint8_t{}); return;
    default:
      throw node_error(node, "element type " + std::string(to_string(type)) + " is not supported");
  }
}

// Numeric types plus bool (stored as one byte 0/1): comparisons and selections.
template <typename Fn>
void dispatch_numeric_or_bool(const Node& node, DataType type, Fn&& fn) {
  if (type == DataType::kBool) {
    fn(bool{});
    return;
  }
  dispatch_numeric(node, type, fn);
}

}  // namespace detstream::inference::ops
