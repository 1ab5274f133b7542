// Pooling over 1-3 spatial dimensions: MaxPool (pads, strides, dilations, ceil_mode, auto_pad;
// float32/float64/int8/uint8; the optional Indices output is rejected), AveragePool
// (count_include_pad, ceil_mode, dilations; float) and GlobalAveragePool / GlobalMaxPool.
// Padding never wins a max; for averages it counts only with count_include_pad, and a ceil_mode
// window running past the end padding counts only up to it (as ONNX Runtime and PyTorch do).
#include <algorithm>
#include <limits>

#include "inference/ops/conv_geometry.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

// kernel_shape, read in place (kernels call this on every run).
const std::vector<std::int64_t>& pool_kernel(const Node& node, const Shape& x) {
  if (x.size() < 3 || x.size() > 5) {
    throw node_error(node, "input must be N x C x D1..Dk with 1 <= k <= 3, got " + to_string(x));
  }
  const auto it = node.attributes.find("kernel_shape");
  if (it == node.attributes.end()) throw node_error(node, "attribute 'kernel_shape' is required");
  const std::vector<std::int64_t>& kernel = it->second.ints;
  if (kernel.size() != x.size() - 2) {
    throw node_error(node, "attribute 'kernel_shape' = " + list_string(kernel) + " does not match input " + to_string(x));
  }
  for (std::int64_t k : kernel) {
    if (k < 1) throw node_error(node, "attribute 'kernel_shape' = " + list_string(kernel) + " has a non-positive extent");
  }
  return kernel;
}

Window3d pool_window(const Node& node, const Shape& x) {
  return resolve_window3d(node, x, pool_kernel(node, x), node.attr_int("ceil_mode", 0) != 0);
}

Shape pooled_shape(const Node& node, const Shape& x) {
  const WindowGeometry g = resolve_window(node, x, pool_kernel(node, x), node.attr_int("ceil_mode", 0) != 0);
  Shape out{x[0], x[1]};
  out.insert(out.end(), g.output.begin(), g.output.end());
  return out;
}

std::vector<OutputInfo> infer_max_pool(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  if (node.outputs.size() > 1 && node.outputs[1] != kNoValue) {
    throw node_error(node, "the Indices output is not supported (remove it from the model)");
  }
  if (in[0].dtype != DataType::kFloat32 && in[0].dtype != DataType::kFloat64 && in[0].dtype != DataType::kInt8 &&
      in[0].dtype != DataType::kUInt8) {
    throw node_error(node, "element type " + std::string(to_string(in[0].dtype)) + " is not supported");
  }
  return {OutputInfo{in[0].dtype, pooled_shape(node, in[0].shape), nullptr}};
}

// Writes reduce(input plane, window start) at every output position of every (batch, channel)
// plane; window starts may be negative (in the padding).
template <typename T, typename Reduce>
void pool_planes(const Window3d& w, std::int64_t planes, const T* x, T* y, Reduce reduce) {
  for (std::int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * w.in_plane();
    T* yp = y + p * w.out_plane();
    for (std::int64_t o0 = 0; o0 < w.out[0]; ++o0)
      for (std::int64_t o1 = 0; o1 < w.out[1]; ++o1)
        for (std::int64_t o2 = 0; o2 < w.out[2]; ++o2) {
          const std::int64_t start[3] = {o0 * w.s[0] - w.p[0], o1 * w.s[1] - w.p[1], o2 * w.s[2] - w.p[2]};
          yp[(o0 * w.out[1] + o1) * w.out[2] + o2] = reduce(xp, start);
        }
  }
}

void max_pool(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Window3d w = pool_window(node, in[0].shape);
  const std::int64_t planes = in[0].shape[0] * in[0].shape[1];
  dispatch_numeric(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    pool_planes<T>(w, planes, in[0].as<T>(), out[0].as<T>(), [&w](const T* xp, const std::int64_t* start) {
      T best = std::numeric_limits<T>::lowest();
      for (std::int64_t k0 = 0; k0 < w.k[0]; ++k0) {
        const std::int64_t i0 = start[0] + k0 * w.d[0];
        if (i0 < 0 || i0 >= w.in[0]) continue;
        for (std::int64_t k1 = 0; k1 < w.k[1]; ++k1) {
          const std::int64_t i1 = start[1] + k1 * w.d[1];
          if (i1 < 0 || i1 >= w.in[1]) continue;
          const T* row = xp + (i0 * w.in[1] + i1) * w.in[2];
          for (std::int64_t k2 = 0; k2 < w.k[2]; ++k2) {
            const std::int64_t i2 = start[2] + k2 * w.d[2];
            if (i2 >= 0 && i2 < w.in[2]) best = std::max(best, row[i2]);
          }
        }
      }
      return best;
    });
  });
}

std::vector<OutputInfo> infer_average_pool(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  dispatch_float(node, in[0].dtype, [](auto) {});
  return {OutputInfo{in[0].dtype, pooled_shape(node, in[0].shape), nullptr}};
}

void average_pool(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Window3d w = pool_window(node, in[0].shape);
  const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  const std::int64_t planes = in[0].shape[0] * in[0].shape[1];
  // A tap counts towards the divisor when inside the input, or inside the padding with
  // count_include_pad.
  auto counted = [&](std::int64_t i, int d) { return include_pad ? i >= -w.p[d] && i < w.in[d] + w.p_end[d] : i >= 0 && i < w.in[d]; };
  dispatch_float(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    pool_planes<T>(w, planes, in[0].as<T>(), out[0].as<T>(), [&](const T* xp, const std::int64_t* start) {
      double sum = 0.0;
      std::int64_t count = 0;
      for (std::int64_t k0 = 0; k0 < w.k[0]; ++k0) {
        const std::int64_t i0 = start[0] + k0 * w.d[0];
        if (!counted(i0, 0)) continue;
        for (std::int64_t k1 = 0; k1 < w.k[1]; ++k1) {
          const std::int64_t i1 = start[1] + k1 * w.d[1];
          if (!counted(i1, 1)) continue;
          for (std::int64_t k2 = 0; k2 < w.k[2]; ++k2) {
            const std::int64_t i2 = start[2] + k2 * w.d[2];
            if (!counted(i2, 2)) continue;
            ++count;
            const bool inside = i0 >= 0 && i0 < w.in[0] && i1 >= 0 && i1 < w.in[1] && i2 >= 0 && i2 < w.in[2];
            if (inside) sum += xp[(i0 * w.in[1] + i1) * w.in[2] + i2];
          }
        }
      }
      return static_cast<T>(count ? sum / static_cast<double>(count) : 0.0);
    });
  });
}

std::vector<OutputInfo> infer_global_pool(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  dispatch_float(node, in[0].dtype, [](auto) {});
  if (in[0].shape.size() < 3) throw node_error(node, "input must be N x C x spatial..., got " + to_string(in[0].shape));
  Shape out = in[0].shape;
  std::fill(out.begin() + 2, out.end(), 1);
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

template <bool kMax>
void global_pool(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Shape& x = in[0].shape;
  const std::int64_t planes = x[0] * x[1];
  const std::int64_t size = element_count(x) / std::max<std::int64_t>(planes, 1);
  dispatch_float(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = in[0].as<T>();
    T* dst = out[0].as<T>();
    for (std::int64_t p = 0; p < planes; ++p) {
      const T* plane = src + p * size;
      if constexpr (kMax) {
        dst[p] = size ? *std::max_element(plane, plane + size) : std::numeric_limits<T>::lowest();
      } else {
        double sum = 0.0;
        for (std::int64_t i = 0; i < size; ++i) sum += plane[i];
        dst[p] = static_cast<T>(size ? sum / static_cast<double>(size) : 0.0);
      }
    }
  });
}

}  // namespace

const OpSchema kMaxPool{"MaxPool", 1, infer_max_pool, max_pool};
const OpSchema kAveragePool{"AveragePool", 1, infer_average_pool, average_pool};
const OpSchema kGlobalAveragePool{"GlobalAveragePool", 1, infer_global_pool, global_pool<false>};
const OpSchema kGlobalMaxPool{"GlobalMaxPool", 1, infer_global_pool, global_pool<true>};

}  // namespace detstream::inference::ops
