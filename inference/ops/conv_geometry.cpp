#include "inference/ops/conv_geometry.h"

#include "inference/ops/op_error.h"

namespace detstream::inference::ops {

WindowGeometry resolve_window(const Node& node, const Shape& input, const std::vector<std::int64_t>& kernel,
                              bool ceil_mode) {
  const std::size_t spatial = kernel.size();
  if (input.size() != spatial + 2) {
    throw node_error(node, "input rank " + std::to_string(input.size()) +
                " does not match a " + std::to_string(spatial) + "-D kernel");
  }
  WindowGeometry g;
  g.kernel = kernel;
  g.strides = node.attr_ints("strides", std::vector<std::int64_t>(spatial, 1));
  g.dilations = node.attr_ints("dilations", std::vector<std::int64_t>(spatial, 1));
  std::vector<std::int64_t> pads = node.attr_ints("pads", std::vector<std::int64_t>(2 * spatial, 0));
  if (g.strides.size() != spatial || g.dilations.size() != spatial || pads.size() != 2 * spatial) {
    throw node_error(node, "strides/dilations/pads do not match the kernel rank");
  }
  // Hostile or corrupt attributes must be rejected here, before any division by a stride.
  for (std::size_t i = 0; i < spatial; ++i) {
    if (kernel[i] < 1 || g.strides[i] < 1 || g.dilations[i] < 1 || pads[i] < 0 || pads[i + spatial] < 0 || input[i + 2] < 0) {
      throw node_error(node, "kernel, 'strides' and 'dilations' must be positive and 'pads' non-negative (kernel " +
                  to_string(kernel) + ", input " + to_string(input) + ")");
    }
  }
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  g.pads_begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(spatial));
  g.pads_end.assign(pads.begin() + static_cast<std::ptrdiff_t>(spatial), pads.end());
  g.output.resize(spatial);
  for (std::size_t i = 0; i < spatial; ++i) {
    const std::int64_t in = input[i + 2];
    const std::int64_t effective = (kernel[i] - 1) * g.dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::int64_t out = (in + g.strides[i] - 1) / g.strides[i];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * g.strides[i] + effective - in);
      const std::int64_t small = total / 2, large = total - total / 2;
      g.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : large;
      g.pads_end[i] = auto_pad == "SAME_UPPER" ? large : small;
    } else if (auto_pad == "VALID") {
      g.pads_begin[i] = g.pads_end[i] = 0;
    } else if (auto_pad != "NOTSET") {
      throw node_error(node, "unknown auto_pad '" + auto_pad + "'");
    }
    const std::int64_t span = in + g.pads_begin[i] + g.pads_end[i] - effective;
    if (span < 0) {
      throw node_error(node, "kernel is larger than the padded input " + to_string(input));
    }
    g.output[i] = (ceil_mode ? (span + g.strides[i] - 1) / g.strides[i] : span / g.strides[i]) + 1;
    // ONNX: with ceil_mode the last window must start inside the input or left padding.
    if (ceil_mode && (g.output[i] - 1) * g.strides[i] >= in + g.pads_begin[i]) --g.output[i];
  }
  return g;
}

Window3d window3d_of(const WindowGeometry& g, const Shape& input) {
  Window3d w{};
  const std::size_t spatial = g.kernel.size(), lead = 3 - spatial;
  for (std::size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const std::size_t j = i - lead;
    w.in[i] = real ? input[j + 2] : 1;
    w.out[i] = real ? g.output[j] : 1;
    w.k[i] = real ? g.kernel[j] : 1;
    w.s[i] = real ? g.strides[j] : 1;
    w.d[i] = real ? g.dilations[j] : 1;
    w.p[i] = real ? g.pads_begin[j] : 0;
    w.p_end[i] = real ? g.pads_end[j] : 0;
  }
  return w;
}

}  // namespace detstream::inference::ops
