// Convolution/pooling window geometry shared by Conv, MaxPool and their backends: resolves
// kernel_shape, strides, dilations, pads and auto_pad of an ONNX node into explicit numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "inference/core/shape.h"
#include "inference/graph/graph.h"

namespace detstream::inference::ops {

struct WindowGeometry {
  std::vector<std::int64_t> kernel;     // spatial kernel extent
  std::vector<std::int64_t> strides;
  std::vector<std::int64_t> dilations;
  std::vector<std::int64_t> pads_begin;
  std::vector<std::int64_t> pads_end;
  std::vector<std::int64_t> output;     // spatial output extent
};

// `input` is N x C x spatial...; `kernel` the spatial kernel extent. ceil_mode for pooling.
WindowGeometry resolve_window(const Node& node, const Shape& input, const std::vector<std::int64_t>& kernel,
                              bool ceil_mode);

}  // namespace detstream::inference::ops
