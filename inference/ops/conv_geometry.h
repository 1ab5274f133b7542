// Convolution/pooling window geometry shared by Conv, MaxPool and their backends: resolves
// kernel_shape, strides, dilations, pads and auto_pad of an ONNX node into explicit numbers.
#pragma once

#include <cstdint>
#include <span>
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

// The same geometry padded to exactly three spatial dimensions with leading unit dimensions, so
// reference kernels for 1-D, 2-D and 3-D windows share one loop nest.
struct Window3d {
  std::int64_t in[3], out[3], k[3], s[3], d[3], p[3], p_end[3];
  std::int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_plane() const { return out[0] * out[1] * out[2]; }
  std::int64_t k_plane() const { return k[0] * k[1] * k[2]; }
};

// `input` is the N x C x spatial... shape the geometry was resolved for (at most 3 spatial dims).
Window3d window3d_of(const WindowGeometry& g, const Shape& input);

// resolve_window straight into a Window3d (1-3 spatial dimensions), reading the attributes in
// place: what reference kernels call on every run, without allocating.
Window3d resolve_window3d(const Node& node, const Shape& input, std::span<const std::int64_t> kernel, bool ceil_mode);

}  // namespace detstream::inference::ops
