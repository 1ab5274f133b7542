// Convolution weight layouts for cuDNN (pure C++): ONNX stores O x I x kH x kW; NHWC convolutions
// want O x kH x kW x I ("KRSC"). Plus float32 -> float16 packing. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "inference/core/tensor.h"

namespace detstream::inference::cuda {

// Weights of any float type as float32, reordered from OIHW to OHWI when `to_ohwi`.
std::vector<float> conv_weights(const Tensor& weights, bool to_ohwi);
std::vector<std::uint16_t> to_half(const std::vector<float>& values);

}  // namespace detstream::inference::cuda
