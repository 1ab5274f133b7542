// Resize geometry: what a Resize node's attributes and scales/sizes/roi operands mean, resolved
// into an output shape and, per axis, the source taps (index, weight) of every output index. The
// coordinate mapping follows the ONNX operator spec and its reference implementation
// (coordinates in double; "output width" is scale * input width, as the reference computes it).
// Opset 10 Resize behaves as opset 11 with coordinate_transformation_mode=asymmetric and
// nearest_mode=floor (what ONNX's version converter maps it to). Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "inference/core/shape.h"
#include "inference/graph/graph.h"

namespace detstream::inference::ops {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class CoordinateMode {
  kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNn, kTfCropAndResize
};
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

struct ResizeAttributes {
  ResizeMode mode = ResizeMode::kNearest;
  CoordinateMode coordinates = CoordinateMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0.0;
};

// Parses and validates the attributes (throws Error naming the attribute).
ResizeAttributes resize_attributes(const Node& node);

// Operands as read from the node's inputs (empty vectors for absent or empty inputs).
struct ResizeOperands {
  std::vector<double> roi;
  std::vector<double> scales;
  std::vector<std::int64_t> sizes;
};

struct ResizePlan {
  Shape output;
  std::vector<double> scales;                  // per axis of the input
  std::vector<double> roi_start, roi_end;      // per axis, normalised (0..1 unless cropping)
};

// Output shape and per-axis scales (axes attribute and keep_aspect_ratio_policy of opset 18).
ResizePlan resolve_resize(const Node& node, const ResizeAttributes& attrs, const Shape& input, const ResizeOperands& ops);

// One output index along one axis: up to four weighted source indices (already clamped to the
// input, edge replication), or `extrapolate` for a tf_crop_and_resize coordinate outside it.
struct ResizeTaps {
  std::array<std::int64_t, 4> index{};
  std::array<double, 4> weight{};
  int count = 0;
  bool extrapolate = false;
};

ResizeTaps resize_taps(const ResizeAttributes& attrs, std::int64_t out_index, std::int64_t in_size, std::int64_t out_size,
                       double scale, double roi_start, double roi_end);

// Source coordinate of output index `x` along one axis (before rounding or interpolation);
// std::nullopt when tf_crop_and_resize maps it outside the input.
std::optional<double> source_coordinate(CoordinateMode mode, std::int64_t x, std::int64_t in_size, std::int64_t out_size,
                                        double scale, double roi_start, double roi_end);

}  // namespace detstream::inference::ops
