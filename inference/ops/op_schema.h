// The op contract. Every op the engine knows is one OpSchema: a type/shape inference function
// (used at build time, where constant inputs are visible so shape chains fold) and a plain C++
// reference kernel (float32 plus the integer types shape chains use). Backends are tested against
// the reference. Schemas are immutable statics; lookups are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "inference/core/tensor.h"
#include "inference/graph/graph.h"

namespace detstream::inference {

struct InputInfo {
  DataType dtype = DataType::kUndefined;  // kUndefined for an absent optional input
  Shape shape;
  const Tensor* constant = nullptr;  // known value at build time, if any
  bool present() const { return dtype != DataType::kUndefined; }
};

struct OutputInfo {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  // Set when the value is known without running the node (Shape of a static tensor, ...).
  std::shared_ptr<const Tensor> constant;
};

// Throws Error (naming the attribute/input that is wrong) for a node it cannot accept.
using InferFn = std::vector<OutputInfo> (*)(const Node& node, std::span<const InputInfo> inputs);
// Absent optional inputs arrive with data == nullptr. Outputs are pre-allocated with the
// inferred shapes. Must not allocate for float32 hot ops where avoidable; throws Error on
// data-dependent failures (index out of range).
using ComputeFn = void (*)(const Node& node, std::span<const ConstTensorView> inputs,
                           std::span<const TensorView> outputs);

struct OpSchema {
  std::string_view op_type;
  int min_opset;  // oldest opset whose semantics this schema implements
  InferFn infer;
  ComputeFn compute;
  // Bit i set: input i, when given, determines output shapes and must be known at build time
  // (Reshape's shape, Slice's starts/ends/axes/steps, ...). Infer throws when it is not.
  std::uint32_t build_time_inputs = 0;

  bool needs_build_time_value(std::size_t input) const { return input < 32 && ((build_time_inputs >> input) & 1u); }
};

// nullptr when the op is not supported.
const OpSchema* find_op_schema(std::string_view op_type);
std::vector<std::string_view> supported_op_types();

// Shared helpers for schema implementations.
std::vector<std::int64_t> constant_ints(const InputInfo& input, const Node& node, std::string_view what);
OutputInfo same_as(const InputInfo& input);

}  // namespace detstream::inference
