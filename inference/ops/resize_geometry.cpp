#include "inference/ops/resize_geometry.h"

#include <algorithm>
#include <cmath>

#include "inference/ops/op_error.h"

namespace detstream::inference::ops {

namespace {

template <typename E>
E parse_enum(const Node& node, const char* attribute, const std::string& fallback,
             std::initializer_list<std::pair<const char*, E>> names) {
  const std::string value = node.attr_string(attribute, fallback);
  for (const auto& [name, e] : names) {
    if (value == name) return e;
  }
  throw node_error(node, std::string("attribute '") + attribute + "' = '" + value + "' is not supported");
}

std::vector<std::int64_t> resize_axes(const Node& node, std::size_t rank) {
  std::vector<std::int64_t> axes;
  if (node.opset < 18 || !node.has_attribute("axes")) {
    for (std::size_t i = 0; i < rank; ++i) axes.push_back(static_cast<std::int64_t>(i));
    return axes;
  }
  const auto r = static_cast<std::int64_t>(rank);
  std::vector<char> seen(rank, 0);
  for (std::int64_t a : node.attr_ints("axes")) {
    if (a < -r || a >= r) throw node_error(node, "attribute 'axes' entry " + std::to_string(a) + " is out of range");
    if (a < 0) a += r;
    if (seen[static_cast<std::size_t>(a)]) throw node_error(node, "attribute 'axes' repeats axis " + std::to_string(a));
    seen[static_cast<std::size_t>(a)] = 1;
    axes.push_back(a);
  }
  return axes;
}

std::int64_t round_nearest(NearestMode mode, double x) {
  const double f = std::floor(x);
  switch (mode) {
    case NearestMode::kFloor: return static_cast<std::int64_t>(f);
    case NearestMode::kCeil: return static_cast<std::int64_t>(std::ceil(x));
    case NearestMode::kRoundPreferFloor: return static_cast<std::int64_t>(x - f <= 0.5 ? f : f + 1);
    case NearestMode::kRoundPreferCeil: return static_cast<std::int64_t>(x - f < 0.5 ? f : f + 1);
  }
  return static_cast<std::int64_t>(f);
}

// Keys's cubic convolution weights of the four taps x0-1 .. x0+2 at distance `t` from x0.
std::array<double, 4> cubic_weights(double t, double a) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };          // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };      // 1 < |d| < 2
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

}  // namespace

ResizeAttributes resize_attributes(const Node& node) {
  ResizeAttributes a;
  a.mode = parse_enum<ResizeMode>(node, "mode", "nearest",
                                  {{"nearest", ResizeMode::kNearest}, {"linear", ResizeMode::kLinear}, {"cubic", ResizeMode::kCubic}});
  if (node.opset < 11) {
    if (a.mode == ResizeMode::kCubic) throw node_error(node, "attribute 'mode' = 'cubic' needs opset 11");
    a.coordinates = CoordinateMode::kAsymmetric;
    a.nearest = NearestMode::kFloor;
    return a;
  }
  a.coordinates = parse_enum<CoordinateMode>(node, "coordinate_transformation_mode", "half_pixel",
                                             {{"half_pixel", CoordinateMode::kHalfPixel},
                                              {"half_pixel_symmetric", CoordinateMode::kHalfPixelSymmetric},
                                              {"pytorch_half_pixel", CoordinateMode::kPytorchHalfPixel},
                                              {"align_corners", CoordinateMode::kAlignCorners},
                                              {"asymmetric", CoordinateMode::kAsymmetric},
                                              {"tf_half_pixel_for_nn", CoordinateMode::kTfHalfPixelForNn},
                                              {"tf_crop_and_resize", CoordinateMode::kTfCropAndResize}});
  a.nearest = parse_enum<NearestMode>(node, "nearest_mode", "round_prefer_floor",
                                      {{"round_prefer_floor", NearestMode::kRoundPreferFloor},
                                       {"round_prefer_ceil", NearestMode::kRoundPreferCeil},
                                       {"floor", NearestMode::kFloor},
                                       {"ceil", NearestMode::kCeil}});
  a.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  a.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  a.extrapolation_value = node.attr_float("extrapolation_value", 0.0f);
  if (node.attr_int("antialias", 0) != 0) throw node_error(node, "attribute 'antialias' = 1 is not supported");
  return a;
}

ResizePlan resolve_resize(const Node& node, const ResizeAttributes& attrs, const Shape& input, const ResizeOperands& ops) {
  const std::vector<std::int64_t> axes = resize_axes(node, input.size());
  const std::size_t n = axes.size();
  ResizePlan plan;
  plan.output = input;
  plan.scales.assign(input.size(), 1.0);
  plan.roi_start.assign(input.size(), 0.0);
  plan.roi_end.assign(input.size(), 1.0);
  if (!ops.scales.empty() && !ops.sizes.empty()) throw node_error(node, "give either 'scales' or 'sizes', not both");
  if (ops.scales.empty() && ops.sizes.empty()) throw node_error(node, "needs a non-empty 'scales' or 'sizes' input");
  if (!ops.scales.empty()) {
    if (ops.scales.size() != n) {
      throw node_error(node, "'scales' has " + std::to_string(ops.scales.size()) + " values for " + std::to_string(n) + " axes");
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = static_cast<std::size_t>(axes[i]);
      if (!(ops.scales[i] > 0)) throw node_error(node, "'scales' must be positive, got " + std::to_string(ops.scales[i]));
      plan.scales[a] = ops.scales[i];
      plan.output[a] = static_cast<std::int64_t>(std::floor(static_cast<double>(input[a]) * ops.scales[i]));
    }
  } else {
    if (ops.sizes.size() != n) {
      throw node_error(node, "'sizes' has " + std::to_string(ops.sizes.size()) + " values for " + std::to_string(n) + " axes");
    }
    const std::string policy = node.opset >= 18 ? node.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
    if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller") {
      throw node_error(node, "attribute 'keep_aspect_ratio_policy' = '" + policy + "' is not supported");
    }
    double common = policy == "not_larger" ? INFINITY : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = static_cast<std::size_t>(axes[i]);
      if (ops.sizes[i] < 0 || input[a] == 0) throw node_error(node, "'sizes' = " + list_string(ops.sizes) + " cannot resize " + to_string(input));
      const double s = static_cast<double>(ops.sizes[i]) / static_cast<double>(input[a]);
      common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
      plan.scales[a] = s;
      plan.output[a] = ops.sizes[i];
    }
    if (policy != "stretch") {
      for (std::int64_t a : axes) {
        plan.scales[static_cast<std::size_t>(a)] = common;
        plan.output[static_cast<std::size_t>(a)] =
            static_cast<std::int64_t>(std::floor(static_cast<double>(input[static_cast<std::size_t>(a)]) * common + 0.5));
      }
    }
  }
  if (attrs.coordinates == CoordinateMode::kTfCropAndResize) {
    if (ops.roi.size() != 2 * n) {
      throw node_error(node, "tf_crop_and_resize needs 'roi' with " + std::to_string(2 * n) + " values, got " +
                                 std::to_string(ops.roi.size()));
    }
    for (std::size_t i = 0; i < n; ++i) {
      plan.roi_start[static_cast<std::size_t>(axes[i])] = ops.roi[i];
      plan.roi_end[static_cast<std::size_t>(axes[i])] = ops.roi[n + i];
    }
  }
  return plan;
}

std::optional<double> source_coordinate(CoordinateMode mode, std::int64_t x, std::int64_t in_size, std::int64_t out_size,
                                        double scale, double roi_start, double roi_end) {
  const double xd = static_cast<double>(x), in = static_cast<double>(in_size);
  const double width = scale * in;  // the reference's (fractional) output width
  switch (mode) {
    case CoordinateMode::kHalfPixel: return (xd + 0.5) / scale - 0.5;
    case CoordinateMode::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out_size) / width;
      const double offset = in / 2 * (1 - adjustment);
      return offset + (xd + 0.5) / scale - 0.5;
    }
    case CoordinateMode::kPytorchHalfPixel: return width == 1.0 ? -0.5 : (xd + 0.5) / scale - 0.5;
    case CoordinateMode::kAlignCorners: return width == 1.0 ? 0.0 : xd * (in - 1) / (width - 1);
    case CoordinateMode::kAsymmetric: return xd / scale;
    case CoordinateMode::kTfHalfPixelForNn: return (xd + 0.5) / scale;
    case CoordinateMode::kTfCropAndResize: {
      double x_ori = width == 1.0 ? (roi_end - roi_start) * (in - 1) / 2 : xd * (roi_end - roi_start) * (in - 1) / (width - 1);
      x_ori += roi_start * (in - 1);
      if (x_ori < 0 || x_ori > in - 1) return std::nullopt;
      return x_ori;
    }
  }
  return xd / scale;
}

ResizeTaps resize_taps(const ResizeAttributes& attrs, std::int64_t out_index, std::int64_t in_size, std::int64_t out_size,
                       double scale, double roi_start, double roi_end) {
  ResizeTaps taps;
  const std::optional<double> x =
      source_coordinate(attrs.coordinates, out_index, in_size, out_size, scale, roi_start, roi_end);
  if (!x) {
    taps.extrapolate = true;
    return taps;
  }
  const auto clamp = [in_size](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, in_size - 1); };
  if (attrs.mode == ResizeMode::kNearest) {
    taps.count = 1;
    taps.index[0] = clamp(round_nearest(attrs.nearest, *x));
    taps.weight[0] = 1.0;
    return taps;
  }
  // x0 is the tap left of x; an integral x counts as distance 1 from x0 (the reference's rule).
  double x0 = std::floor(*x);
  if (x0 == *x) x0 -= 1;
  const double t = *x - x0;
  const auto base = static_cast<std::int64_t>(x0);
  if (attrs.mode == ResizeMode::kLinear) {
    taps.count = 2;
    taps.index = {base, base + 1, 0, 0};
    taps.weight = {1 - t, t, 0, 0};
  } else {
    taps.count = 4;
    taps.index = {base - 1, base, base + 1, base + 2};
    taps.weight = cubic_weights(t, attrs.cubic_a);
  }
  if (attrs.exclude_outside) {
    double sum = 0;
    for (int i = 0; i < taps.count; ++i) {
      if (taps.index[i] < 0 || taps.index[i] >= in_size) taps.weight[i] = 0;
      sum += taps.weight[i];
    }
    if (sum != 0) {
      for (int i = 0; i < taps.count; ++i) taps.weight[i] /= sum;
    }
  }
  for (int i = 0; i < taps.count; ++i) taps.index[i] = clamp(taps.index[i]);
  return taps;
}

}  // namespace detstream::inference::ops
