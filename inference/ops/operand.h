// Reading small integer operands (axes, starts, sizes) from tensor views inside reference kernels,
// where the build-time constant is no longer at hand. int32 and int64 only, as ONNX allows for
// these inputs. Header-only; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "inference/core/tensor.h"
#include "inference/ops/op_error.h"

namespace detstream::inference::ops {

inline std::vector<std::int64_t> read_ints(const Node& node, const ConstTensorView& view, const char* what) {
  std::vector<std::int64_t> values(static_cast<std::size_t>(view.count()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (view.dtype) {
      case DataType::kInt64: values[i] = view.as<std::int64_t>()[i]; break;
      case DataType::kInt32: values[i] = view.as<std::int32_t>()[i]; break;
      default: throw node_error(node, std::string("input '") + what + "' must be int32 or int64");
    }
  }
  return values;
}

}  // namespace detstream::inference::ops
