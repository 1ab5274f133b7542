// Conversion of ONNX TensorProto (raw_data, typed fields, external data) to Tensor.
#pragma once

#include <string>

#include "inference/core/tensor.h"

namespace onnx {
class TensorProto;
}

namespace detstream::inference::onnx {

// `base_dir` locates external data files; `what` names the tensor in errors.
Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& base_dir, const std::string& what);

}  // namespace detstream::inference::onnx
