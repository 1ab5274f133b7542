// Element types of tensors in the IR. Values follow ONNX's TensorProto.DataType numbering so the
// importer maps them one to one and plans stay readable. Pure value helpers; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace detstream::inference {

enum class DataType : std::uint8_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kBFloat16 = 16,
};

// Bytes per element; 0 for kUndefined.
std::size_t element_size(DataType type);
std::string_view to_string(DataType type);
// Maps an ONNX TensorProto.DataType code; returns kUndefined for types the engine does not handle.
DataType data_type_from_onnx(int onnx_code);

}  // namespace detstream::inference
