#include "inference/ops/conv_geometry.h"

#include <algorithm>
#include <string_view>

#include "inference/ops/op_error.h"

namespace detstream::inference::ops {

namespace {

// An ints attribute by reference (no copy); nullptr when absent.
const std::vector<std::int64_t>* ints_attribute(const Node& node, const char* key) {
  const auto it = node.attributes.find(key);
  return it == node.attributes.end() ? nullptr : &it->second.ints;
}

struct Dimension {
  std::int64_t stride = 1, dilation = 1, pad_begin = 0, pad_end = 0, output = 0;
};

// Resolves every spatial dimension and hands each to emit(i, Dimension). Reads the attributes in
// place so the reference kernels can call it per run without allocating.
template <typename Emit>
void resolve_dimensions(const Node& node, const Shape& input, std::span<const std::int64_t> kernel, bool ceil_mode,
                        Emit&& emit) {
  const std::size_t spatial = kernel.size();
  if (input.size() != spatial + 2) {
    throw node_error(node, "input rank " + std::to_string(input.size()) + " does not match a " + std::to_string(spatial) +
                               "-D kernel");
  }
  const std::vector<std::int64_t>* strides = ints_attribute(node, "strides");
  const std::vector<std::int64_t>* dilations = ints_attribute(node, "dilations");
  const std::vector<std::int64_t>* pads = ints_attribute(node, "pads");
  if ((strides && strides->size() != spatial) || (dilations && dilations->size() != spatial) ||
      (pads && pads->size() != 2 * spatial)) {
    throw node_error(node, "strides/dilations/pads do not match the kernel rank");
  }
  const auto auto_pad_it = node.attributes.find("auto_pad");
  const std::string_view auto_pad = auto_pad_it == node.attributes.end() ? "NOTSET" : std::string_view(auto_pad_it->second.s);
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "VALID" && auto_pad != "NOTSET") {
    throw node_error(node, "unknown auto_pad '" + std::string(auto_pad) + "'");
  }
  for (std::size_t i = 0; i < spatial; ++i) {
    Dimension d;
    d.stride = strides ? (*strides)[i] : 1;
    d.dilation = dilations ? (*dilations)[i] : 1;
    d.pad_begin = pads ? (*pads)[i] : 0;
    d.pad_end = pads ? (*pads)[i + spatial] : 0;
    const std::int64_t in = input[i + 2];
    // Hostile or corrupt attributes must be rejected here, before any division by a stride.
    if (kernel[i] < 1 || d.stride < 1 || d.dilation < 1 || d.pad_begin < 0 || d.pad_end < 0 || in < 0) {
      throw node_error(node, "kernel, 'strides' and 'dilations' must be positive and 'pads' non-negative (kernel " +
                                 to_string(Shape(kernel.begin(), kernel.end())) + ", input " + to_string(input) + ")");
    }
    const std::int64_t effective = (kernel[i] - 1) * d.dilation + 1;
    if (same) {
      const std::int64_t out = (in + d.stride - 1) / d.stride;
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * d.stride + effective - in);
      const std::int64_t small = total / 2, large = total - total / 2;
      d.pad_begin = auto_pad == "SAME_UPPER" ? small : large;
      d.pad_end = auto_pad == "SAME_UPPER" ? large : small;
    } else if (auto_pad == "VALID") {
      d.pad_begin = d.pad_end = 0;
    }
    const std::int64_t span = in + d.pad_begin + d.pad_end - effective;
    if (span < 0) throw node_error(node, "kernel is larger than the padded input " + to_string(input));
    d.output = (ceil_mode ? (span + d.stride - 1) / d.stride : span / d.stride) + 1;
    // ONNX: with ceil_mode the last window must start inside the input or left padding.
    if (ceil_mode && (d.output - 1) * d.stride >= in + d.pad_begin) --d.output;
    emit(i, d);
  }
}

}  // namespace

WindowGeometry resolve_window(const Node& node, const Shape& input, const std::vector<std::int64_t>& kernel,
                              bool ceil_mode) {
  WindowGeometry g;
  g.kernel = kernel;
  resolve_dimensions(node, input, kernel, ceil_mode, [&g](std::size_t, const Dimension& d) {
    g.strides.push_back(d.stride);
    g.dilations.push_back(d.dilation);
    g.pads_begin.push_back(d.pad_begin);
    g.pads_end.push_back(d.pad_end);
    g.output.push_back(d.output);
  });
  return g;
}

Window3d resolve_window3d(const Node& node, const Shape& input, std::span<const std::int64_t> kernel, bool ceil_mode) {
  if (kernel.empty() || kernel.size() > 3) {
    throw node_error(node, "only 1-3 spatial dimensions are supported, got " + std::to_string(kernel.size()));
  }
  Window3d w;
  const std::size_t lead = 3 - kernel.size();
  for (std::size_t i = 0; i < lead; ++i) {
    w.in[i] = w.out[i] = w.k[i] = w.s[i] = w.d[i] = 1;
    w.p[i] = w.p_end[i] = 0;
  }
  resolve_dimensions(node, input, kernel, ceil_mode, [&](std::size_t i, const Dimension& d) {
    const std::size_t j = lead + i;
    w.in[j] = input[i + 2];
    w.out[j] = d.output;
    w.k[j] = kernel[i];
    w.s[j] = d.stride;
    w.d[j] = d.dilation;
    w.p[j] = d.pad_begin;
    w.p_end[j] = d.pad_end;
  });
  return w;
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
