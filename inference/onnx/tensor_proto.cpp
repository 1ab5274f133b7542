#include "inference/onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "inference/core/error.h"

namespace detstream::inference::onnx {

namespace {

template <typename T, typename Field>
void copy_field(Tensor& t, const Field& field, const std::string& what) {
  if (static_cast<std::int64_t>(field.size()) != t.count()) {
    throw Error(what + ": holds " + std::to_string(field.size()) + " values but its shape " + to_string(t.shape()) +
                " needs " + std::to_string(t.count()));
  }
  T* out = t.data<T>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

void read_external(Tensor& t, const ::onnx::TensorProto& proto, const std::string& base_dir, const std::string& what) {
  std::string location;
  std::int64_t offset = 0, length = -1;
  for (const auto& entry : proto.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = std::stoll(entry.value());
    if (entry.key() == "length") length = std::stoll(entry.value());
  }
  if (location.empty()) throw Error(what + ": external data without a location");
  const std::filesystem::path path = std::filesystem::path(base_dir) / location;
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(what + ": external data file '" + path.string() + "' is missing or unreadable");
  const auto bytes = static_cast<std::int64_t>(t.byte_size());
  if (length >= 0 && length != bytes) {
    throw Error(what + ": external data length " + std::to_string(length) + " does not match " + std::to_string(bytes));
  }
  file.seekg(offset);
  file.read(static_cast<char*>(t.raw()), bytes);
  if (file.gcount() != bytes) throw Error(what + ": external data file '" + path.string() + "' is too short");
}

void read_typed_fields(Tensor& t, const ::onnx::TensorProto& proto, const std::string& what) {
  switch (t.dtype()) {
    case DataType::kFloat32: copy_field<float>(t, proto.float_data(), what); break;
    case DataType::kFloat64: copy_field<double>(t, proto.double_data(), what); break;
    case DataType::kInt64: copy_field<std::int64_t>(t, proto.int64_data(), what); break;
    case DataType::kInt32: copy_field<std::int32_t>(t, proto.int32_data(), what); break;
    case DataType::kInt8: copy_field<std::int8_t>(t, proto.int32_data(), what); break;
    case DataType::kUInt8:
    case DataType::kBool: copy_field<std::uint8_t>(t, proto.int32_data(), what); break;
    case DataType::kFloat16:
    case DataType::kBFloat16: copy_field<std::uint16_t>(t, proto.int32_data(), what); break;
    case DataType::kUndefined: break;
  }
}

}  // namespace

Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& base_dir, const std::string& what) {
  const DataType dtype = data_type_from_onnx(proto.data_type());
  if (dtype == DataType::kUndefined) {
    throw Error(what + ": tensor data type " + std::to_string(proto.data_type()) + " is not supported");
  }
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (std::int64_t dim : shape) {
    if (dim < 0) throw Error(what + ": negative dimension in " + to_string(shape));
  }
  Tensor t(dtype, shape);
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    read_external(t, proto, base_dir, what);
  } else if (proto.has_raw_data()) {
    if (proto.raw_data().size() != t.byte_size()) {
      throw Error(what + ": raw data has " + std::to_string(proto.raw_data().size()) + " bytes, shape " +
                  to_string(shape) + " of " + std::string(to_string(dtype)) + " needs " + std::to_string(t.byte_size()));
    }
    if (t.byte_size()) std::memcpy(t.raw(), proto.raw_data().data(), t.byte_size());
  } else {
    read_typed_fields(t, proto, what);
  }
  return t;
}

}  // namespace detstream::inference::onnx
