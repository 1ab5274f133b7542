// Conv (ONNX, any spatial rank 1-3 handled as 2-D/3-D loops, groups, dilations, auto_pad) with
// the engine-internal fused activation attribute "activation" ("silu", "relu", "sigmoid") written
// by the Conv+SiLU fusion pass. Direct-loop reference: correct, not fast.
#include <cmath>

#include "inference/core/error.h"
#include "inference/ops/activation.h"
#include "inference/ops/conv_geometry.h"
#include "inference/ops/op_list.h"

namespace detstream::inference::ops {

namespace {

std::vector<OutputInfo> infer_conv(const Node& node, std::span<const InputInfo> in) {
  if (in.size() < 2 || !in[0].present() || !in[1].present()) {
    throw Error(node.op_type + " '" + node.name + "' needs inputs X and W");
  }
  const Shape& x = in[0].shape;
  const Shape& w = in[1].shape;
  if (x.size() < 3 || w.size() != x.size()) {
    throw Error(node.op_type + " '" + node.name + "': input of rank " + std::to_string(x.size()) +
                " and weight of rank " + std::to_string(w.size()) + " (expected N x C x spatial, equal ranks)");
  }
  const std::int64_t group = node.attr_int("group", 1);
  if (x[1] >= 0 && x[1] != w[1] * group) {
    throw Error(node.op_type + " '" + node.name + "': input has " + std::to_string(x[1]) + " channels but weight " +
                to_string(w) + " with group " + std::to_string(group) + " expects " + std::to_string(w[1] * group));
  }
  std::vector<std::int64_t> kernel(w.begin() + 2, w.end());
  Shape out{x[0], w[0]};
  if (is_static(x)) {
    const WindowGeometry g = resolve_window(node, x, kernel, false);
    out.insert(out.end(), g.output.begin(), g.output.end());
  } else {
    out.resize(x.size(), kUnknownDim);
  }
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

void compute_conv(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const ConstTensorView& x = in[0];
  const ConstTensorView& w = in[1];
  const float* bias = in.size() > 2 && in[2].data ? in[2].as<float>() : nullptr;
  const TensorView& y = out[0];
  if (x.dtype != DataType::kFloat32) throw Error("Conv '" + node.name + "': only float32 is supported");
  const std::size_t spatial = x.shape.size() - 2;
  if (spatial > 3) throw Error("Conv '" + node.name + "': more than 3 spatial dimensions");
  std::vector<std::int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  WindowGeometry g = resolve_window(node, x.shape, kernel, false);
  // Treat every conv as 3-D by padding the geometry with unit dimensions in front.
  auto pad3 = [&](std::vector<std::int64_t> v, std::int64_t fill) {
    v.insert(v.begin(), 3 - v.size(), fill);
    return v;
  };
  std::vector<std::int64_t> in_sp(x.shape.begin() + 2, x.shape.end());
  const auto isz = pad3(in_sp, 1), osz = pad3(g.output, 1), k = pad3(g.kernel, 1), s = pad3(g.strides, 1),
             d = pad3(g.dilations, 1), p = pad3(g.pads_begin, 0);
  const std::int64_t batch = x.shape[0], group = node.attr_int("group", 1);
  const std::int64_t cin_g = w.shape[1], cout = w.shape[0], cout_g = cout / group;
  const Activation act = activation_from_node(node);
  const float* xd = x.as<float>();
  const float* wd = w.as<float>();
  float* yd = y.as<float>();
  const std::int64_t in_plane = isz[0] * isz[1] * isz[2], out_plane = osz[0] * osz[1] * osz[2];
  const std::int64_t k_plane = k[0] * k[1] * k[2];
  for (std::int64_t n = 0; n < batch; ++n) {
    for (std::int64_t oc = 0; oc < cout; ++oc) {
      const std::int64_t gi = oc / cout_g;
      float* yplane = yd + (n * cout + oc) * out_plane;
      for (std::int64_t o0 = 0; o0 < osz[0]; ++o0)
        for (std::int64_t o1 = 0; o1 < osz[1]; ++o1)
          for (std::int64_t o2 = 0; o2 < osz[2]; ++o2) {
            double acc = bias ? bias[oc] : 0.0;
            for (std::int64_t ic = 0; ic < cin_g; ++ic) {
              const float* xplane = xd + (n * x.shape[1] + gi * cin_g + ic) * in_plane;
              const float* wk = wd + (oc * cin_g + ic) * k_plane;
              for (std::int64_t k0 = 0; k0 < k[0]; ++k0) {
                const std::int64_t i0 = o0 * s[0] - p[0] + k0 * d[0];
                if (i0 < 0 || i0 >= isz[0]) continue;
                for (std::int64_t k1 = 0; k1 < k[1]; ++k1) {
                  const std::int64_t i1 = o1 * s[1] - p[1] + k1 * d[1];
                  if (i1 < 0 || i1 >= isz[1]) continue;
                  for (std::int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const std::int64_t i2 = o2 * s[2] - p[2] + k2 * d[2];
                    if (i2 < 0 || i2 >= isz[2]) continue;
                    acc += static_cast<double>(xplane[(i0 * isz[1] + i1) * isz[2] + i2]) *
                           wk[(k0 * k[1] + k1) * k[2] + k2];
                  }
                }
              }
            }
            yplane[(o0 * osz[1] + o1) * osz[2] + o2] = apply_activation(act, static_cast<float>(acc));
          }
    }
  }
}

}  // namespace

const OpSchema kConv{"Conv", 1, infer_conv, compute_conv};

}  // namespace detstream::inference::ops
