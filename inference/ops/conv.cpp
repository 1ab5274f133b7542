// Conv (ONNX opset 1+, 1-3 spatial dimensions, groups, dilations, pads, auto_pad) with the
// engine-internal fused activation attribute "activation" ("silu", "relu", "sigmoid") written by
// the Conv+SiLU fusion pass. float32.
//
// Reference kernel: each group is one matrix multiply, W[Cout/g x Cin/g*k] * im2col(X), through
// the blocked sgemm (a 1x1 stride-1 unpadded conv multiplies X directly). Depthwise groups (one
// output channel per group) use a direct loop instead, where a GEMM of one row would waste work.
// The im2col buffer is per-thread and only grows, so repeated runs do not allocate.
#include <algorithm>
#include <vector>

#include "inference/ops/activation.h"
#include "inference/ops/conv_geometry.h"
#include "inference/ops/gemm_kernel.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_conv(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 2, 3);
  const Shape& x = in[0].shape;
  const Shape& w = in[1].shape;
  if (in[0].dtype != DataType::kFloat32 || in[1].dtype != DataType::kFloat32) {
    throw node_error(node, "only float32 is supported, got " + std::string(to_string(in[0].dtype)));
  }
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    throw node_error(node, "input of rank " + std::to_string(x.size()) + " and weight of rank " + std::to_string(w.size()) +
                               " (expected N x C x D1..Dk with 1 <= k <= 3, equal ranks)");
  }
  const std::int64_t group = node.attr_int("group", 1);
  if (group < 1 || w[0] % group != 0) {
    throw node_error(node, "attribute 'group' = " + std::to_string(group) + " does not divide the " +
                               std::to_string(w[0]) + " output channels");
  }
  if (x[1] != w[1] * group) {
    throw node_error(node, "input has " + std::to_string(x[1]) + " channels but weight " + to_string(w) + " with group " +
                               std::to_string(group) + " expects " + std::to_string(w[1] * group));
  }
  std::vector<std::int64_t> kernel(w.begin() + 2, w.end());
  if (node.has_attribute("kernel_shape") && node.attr_ints("kernel_shape") != kernel) {
    throw node_error(node, "attribute 'kernel_shape' does not match the weight shape " + to_string(w));
  }
  if (in.size() > 2 && in[2].present() && in[2].shape != Shape{w[0]}) {
    throw node_error(node, "bias has shape " + to_string(in[2].shape) + ", expected " + std::to_string(w[0]));
  }
  activation_from_node(node);  // validates the fused activation name
  const WindowGeometry g = resolve_window(node, x, kernel, false);
  Shape out{x[0], w[0]};
  out.insert(out.end(), g.output.begin(), g.output.end());
  return {OutputInfo{DataType::kFloat32, out, nullptr}};
}

using Conv3d = Window3d;

bool is_pointwise(const Conv3d& c) {
  for (int i = 0; i < 3; ++i) {
    if (c.k[i] != 1 || c.s[i] != 1 || c.p[i] != 0 || c.in[i] != c.out[i]) return false;
  }
  return true;
}

// Rows of `col` are (input channel, kernel tap); columns are output positions. Taps that fall in
// the padding read as zero.
void im2col(const float* x, std::int64_t channels, const Conv3d& c, float* col) {
  const std::int64_t out_plane = c.out_plane();
  for (std::int64_t ic = 0; ic < channels; ++ic) {
    const float* xc = x + ic * c.in_plane();
    for (std::int64_t k0 = 0; k0 < c.k[0]; ++k0)
      for (std::int64_t k1 = 0; k1 < c.k[1]; ++k1)
        for (std::int64_t k2 = 0; k2 < c.k[2]; ++k2) {
          float* row = col + ((ic * c.k[0] + k0) * c.k[1] + k1) * c.k[2] * out_plane + k2 * out_plane;
          for (std::int64_t o0 = 0; o0 < c.out[0]; ++o0) {
            const std::int64_t i0 = o0 * c.s[0] - c.p[0] + k0 * c.d[0];
            for (std::int64_t o1 = 0; o1 < c.out[1]; ++o1) {
              const std::int64_t i1 = o1 * c.s[1] - c.p[1] + k1 * c.d[1];
              float* dst = row + (o0 * c.out[1] + o1) * c.out[2];
              if (i0 < 0 || i0 >= c.in[0] || i1 < 0 || i1 >= c.in[1]) {
                std::fill(dst, dst + c.out[2], 0.0f);
                continue;
              }
              const float* src = xc + (i0 * c.in[1] + i1) * c.in[2];
              for (std::int64_t o2 = 0; o2 < c.out[2]; ++o2) {
                const std::int64_t i2 = o2 * c.s[2] - c.p[2] + k2 * c.d[2];
                dst[o2] = i2 >= 0 && i2 < c.in[2] ? src[i2] : 0.0f;
              }
            }
          }
        }
  }
}

// y (one output plane, pre-filled) += sum over taps of w[tap] * x shifted: the depthwise path.
void direct_plane(const float* x, std::int64_t channels, const float* w, const Conv3d& c, float* y) {
  for (std::int64_t ic = 0; ic < channels; ++ic) {
    const float* xc = x + ic * c.in_plane();
    const float* wc = w + ic * c.k_plane();
    for (std::int64_t k0 = 0; k0 < c.k[0]; ++k0)
      for (std::int64_t k1 = 0; k1 < c.k[1]; ++k1)
        for (std::int64_t k2 = 0; k2 < c.k[2]; ++k2) {
          const float wv = wc[(k0 * c.k[1] + k1) * c.k[2] + k2];
          // Output range along the innermost axis whose input index stays inside [0, in).
          const std::int64_t off = k2 * c.d[2] - c.p[2];
          std::int64_t lo = 0, hi = c.out[2];
          while (lo < hi && lo * c.s[2] + off < 0) ++lo;
          while (hi > lo && (hi - 1) * c.s[2] + off >= c.in[2]) --hi;
          for (std::int64_t o0 = 0; o0 < c.out[0]; ++o0) {
            const std::int64_t i0 = o0 * c.s[0] - c.p[0] + k0 * c.d[0];
            if (i0 < 0 || i0 >= c.in[0]) continue;
            for (std::int64_t o1 = 0; o1 < c.out[1]; ++o1) {
              const std::int64_t i1 = o1 * c.s[1] - c.p[1] + k1 * c.d[1];
              if (i1 < 0 || i1 >= c.in[1]) continue;
              const float* src = xc + (i0 * c.in[1] + i1) * c.in[2];
              float* dst = y + (o0 * c.out[1] + o1) * c.out[2];
              for (std::int64_t o2 = lo; o2 < hi; ++o2) dst[o2] += wv * src[o2 * c.s[2] + off];
            }
          }
        }
  }
}

void compute_conv(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const ConstTensorView& x = in[0];
  const ConstTensorView& w = in[1];
  const float* bias = in.size() > 2 && in[2].data ? in[2].as<float>() : nullptr;
  const std::span<const std::int64_t> kernel(w.shape.data() + 2, w.shape.size() - 2);
  const Conv3d c = resolve_window3d(node, x.shape, kernel, false);
  const std::int64_t batch = x.shape[0], group = node.attr_int("group", 1);
  const std::int64_t cin_g = w.shape[1], cout = w.shape[0], cout_g = cout / group;
  const std::int64_t depth = cin_g * c.k_plane(), in_plane = c.in_plane(), out_plane = c.out_plane();
  const Activation act = activation_from_node(node);
  const float* xd = x.as<float>();
  const float* wd = w.as<float>();
  float* yd = out[0].as<float>();
  const bool pointwise = is_pointwise(c);
  thread_local std::vector<float> col;
  if (!pointwise && cout_g > 1 && col.size() < static_cast<std::size_t>(depth * out_plane)) {
    col.resize(static_cast<std::size_t>(depth * out_plane));
  }
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t g = 0; g < group; ++g) {
      const float* xg = xd + (n * x.shape[1] + g * cin_g) * in_plane;
      const float* wg = wd + g * cout_g * depth;
      float* yg = yd + (n * cout + g * cout_g) * out_plane;
      if (cout_g == 1) {
        std::fill(yg, yg + out_plane, 0.0f);
        direct_plane(xg, cin_g, wg, c, yg);
      } else if (pointwise) {
        sgemm(cout_g, out_plane, depth, wg, depth, xg, out_plane, yg, out_plane, false);
      } else {
        im2col(xg, cin_g, c, col.data());
        sgemm(cout_g, out_plane, depth, wg, depth, col.data(), out_plane, yg, out_plane, false);
      }
      for (std::int64_t oc = 0; oc < cout_g; ++oc) {
        const float b = bias ? bias[g * cout_g + oc] : 0.0f;
        float* plane = yg + oc * out_plane;
        if (act == Activation::kNone) {
          if (b != 0.0f) for (std::int64_t i = 0; i < out_plane; ++i) plane[i] += b;
        } else {
          for (std::int64_t i = 0; i < out_plane; ++i) plane[i] = apply_activation(act, plane[i] + b);
        }
      }
    }
  }
}

}  // namespace

const OpSchema kConv{"Conv", 1, infer_conv, compute_conv};

}  // namespace detstream::inference::ops
