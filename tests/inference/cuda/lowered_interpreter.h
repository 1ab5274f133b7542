// A CPU interpreter of the CUDA backend's lowered program (test support). It runs the steps on
// one host byte arena laid out exactly as planned (offsets, strides, fp16 rounding, views,
// in-place concatenation, reused buffers), so the lowering and the arena plan are checked against
// the reference backend without a GPU. Slow and plain on purpose.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "inference/cuda/lowering.h"
#include "inference/ops/conv_geometry.h"

namespace detstream::inference::testing {

class LoweredInterpreter {
 public:
  LoweredInterpreter(const Graph& graph, const cuda::LoweredGraph& lowered) : g_(graph), l_(lowered) {
    arena_.assign(lowered.arena_bytes, std::byte{0xFF});  // NaN: reads of unwritten memory show
    for (std::size_t r = 0; r < lowered.roots.size(); ++r) {
      if (lowered.roots[r].kind == cuda::RootKind::kConstant) {
        constants_[static_cast<int>(r)] = g_.value(lowered.roots[r].constant_value).constant->to_float_vector();
      }
    }
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto& in = inputs[i].values<float>();
      const cuda::TensorRef& ref = l_.input_staging[i];
      for (std::size_t k = 0; k < in.size(); ++k) store(ref, static_cast<std::int64_t>(k), in[k]);
    }
    for (const cuda::Step& step : l_.steps) execute(step);
    std::vector<Tensor> outputs;
    for (const cuda::TensorRef& ref : l_.output_staging) {
      Tensor t(DataType::kFloat32, ref.shape);
      for (std::int64_t k = 0; k < t.count(); ++k) t.data<float>()[k] = load(ref, k);
      outputs.push_back(std::move(t));
    }
    return outputs;
  }

 private:
  float load(const cuda::TensorRef& ref, std::int64_t element) const {
    const std::int64_t at = ref.offset + element;
    const auto& root = l_.roots[static_cast<std::size_t>(ref.root)];
    if (root.kind == cuda::RootKind::kConstant) return constants_.at(ref.root)[static_cast<std::size_t>(at)];
    const std::byte* base = arena_.data() + root.arena_offset;
    if (ref.dtype == DataType::kFloat16) {
      std::uint16_t h;
      std::memcpy(&h, base + at * 2, 2);
      return half_to_float(h);
    }
    float f;
    std::memcpy(&f, base + at * 4, 4);
    return f;
  }
  void store(const cuda::TensorRef& ref, std::int64_t element, float v) {
    const std::int64_t at = ref.offset + element;
    std::byte* base = arena_.data() + l_.roots[static_cast<std::size_t>(ref.root)].arena_offset;
    if (ref.dtype == DataType::kFloat16) {
      const std::uint16_t h = float_to_half(v);
      std::memcpy(base + at * 2, &h, 2);
    } else {
      std::memcpy(base + at * 4, &v, 4);
    }
  }
  static std::int64_t offset(const cuda::TensorRef& ref, const std::vector<std::int64_t>& index) {
    std::int64_t o = 0;
    for (std::size_t d = 0; d < index.size(); ++d) o += index[d] * ref.strides[d];
    return o;
  }
  // Calls f(index) for every multi-index of `shape` in row-major order.
  template <typename F>
  static void for_each(const Shape& shape, F f) {
    std::vector<std::int64_t> index(shape.size(), 0);
    for (std::int64_t k = 0, count = element_count(shape); k < count; ++k) {
      f(index);
      for (std::size_t d = shape.size(); d-- > 0;) {
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
  }

  void execute(const cuda::Step& step) {
    const Node* node = step.node >= 0 ? &g_.nodes[static_cast<std::size_t>(step.node)] : nullptr;
    switch (step.kind) {
      case cuda::StepKind::kElementwise: return elementwise(step);
      case cuda::StepKind::kConv: return conv(step, *node);
      case cuda::StepKind::kStemPair: return stem_pair(step, *node);
      case cuda::StepKind::kMaxPool: return maxpool(step, *node);
      case cuda::StepKind::kResize: return resize(step);
      case cuda::StepKind::kSoftmax: return softmax(step, *node);
      case cuda::StepKind::kDetectHead: return detect_head(step, l_.heads[static_cast<std::size_t>(step.head)]);
    }
  }

  void elementwise(const cuda::Step& s) {
    for_each(s.output.shape, [&](const std::vector<std::int64_t>& i) {
      const float a = load(s.inputs[0], offset(s.inputs[0], i));
      float v = a;
      if (s.op != cuda::ElementwiseOp::kCopy) {
        const float b = load(s.inputs[1], offset(s.inputs[1], i));
        v = s.op == cuda::ElementwiseOp::kAdd ? a + b : s.op == cuda::ElementwiseOp::kSub ? a - b
            : s.op == cuda::ElementwiseOp::kMul ? a * b : a / b;
      }
      store(s.output, offset(s.output, i), ops::apply_activation(s.activation, v));
    });
  }

  void conv(const cuda::Step& s, const Node& node) {
    const cuda::TensorRef& x = s.inputs[0];
    convolve(node, x.shape, [&](const std::vector<std::int64_t>& i) { return load(x, offset(x, i)); }, s.output.shape, s.activation,
             [&](const std::vector<std::int64_t>& i, float v) {
               if (s.inputs.size() > 1) v += load(s.inputs[1], offset(s.inputs[1], i));  // folded residual Add
               store(s.output, offset(s.output, i), v);
               if (!s.upsampled.valid()) return;  // else a folded nearest 2x Resize
               for (std::int64_t dy = 0; dy < 2; ++dy)
                 for (std::int64_t dx = 0; dx < 2; ++dx)
                   store(s.upsampled, offset(s.upsampled, {i[0], i[1], 2 * i[2] + dy, 2 * i[3] + dx}), v);
             });
  }

  // The stem into a scratch map rounded as it is stored on the device (fp16), then the second
  // convolution over it.
  void stem_pair(const cuda::Step& s, const Node& first) {
    const Node& second = g_.nodes[static_cast<std::size_t>(s.second_node)];
    const cuda::TensorRef& x = s.inputs[0];
    const Shape mid_shape = g_.value(first.outputs[0]).shape;
    std::vector<float> mid(static_cast<std::size_t>(element_count(mid_shape)));
    const auto at = [&](const std::vector<std::int64_t>& i) {
      return static_cast<std::size_t>(((i[0] * mid_shape[1] + i[1]) * mid_shape[2] + i[2]) * mid_shape[3] + i[3]);
    };
    convolve(first, x.shape, [&](const std::vector<std::int64_t>& i) { return load(x, offset(x, i)); }, mid_shape, s.activation,
             [&](const std::vector<std::int64_t>& i, float v) { mid[at(i)] = half_to_float(float_to_half(v)); });
    convolve(second, mid_shape, [&](const std::vector<std::int64_t>& i) { return mid[at(i)]; }, s.output.shape,
             ops::activation_from_node(second), [&](const std::vector<std::int64_t>& i, float v) { store(s.output, offset(s.output, i), v); });
  }

  // Direct convolution of `node` over an input of `x_shape` read through load_x, storing each
  // activated output element through put(index, value).
  template <typename Load, typename Put>
  void convolve(const Node& node, const Shape& x_shape, Load load_x, const Shape& out_shape, ops::Activation activation, Put put) {
    const Tensor& w = *g_.value(node.inputs[1]).constant;
    const std::vector<float> wv = w.to_float_vector();
    std::vector<float> bias;
    if (node.has_input(2)) bias = g_.value(node.inputs[2]).constant->to_float_vector();
    const ops::WindowGeometry geo = ops::resolve_window(node, x_shape, {w.shape()[2], w.shape()[3]}, false);
    const std::int64_t group = node.attr_int("group", 1), cin_g = w.shape()[1], cout_g = w.shape()[0] / group;
    for_each(out_shape, [&](const std::vector<std::int64_t>& i) {
      double acc = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(i[1])];
      const std::int64_t gi = i[1] / cout_g;
      for (std::int64_t c = 0; c < cin_g; ++c)
        for (std::int64_t kh = 0; kh < w.shape()[2]; ++kh)
          for (std::int64_t kw = 0; kw < w.shape()[3]; ++kw) {
            const std::int64_t h = i[2] * geo.strides[0] - geo.pads_begin[0] + kh * geo.dilations[0];
            const std::int64_t ww = i[3] * geo.strides[1] - geo.pads_begin[1] + kw * geo.dilations[1];
            if (h < 0 || h >= x_shape[2] || ww < 0 || ww >= x_shape[3]) continue;
            const float xv = load_x({i[0], gi * cin_g + c, h, ww});
            acc += static_cast<double>(xv) * wv[static_cast<std::size_t>(((i[1] * cin_g + c) * w.shape()[2] + kh) * w.shape()[3] + kw)];
          }
      put(i, ops::apply_activation(activation, static_cast<float>(acc)));
    });
  }

  // The step's pool, then each chained one over the previous output (SPPF as one step).
  void maxpool(const cuda::Step& s, const Node& node) {
    const cuda::TensorRef* x = &s.inputs[0];
    for (std::size_t i = 0; i <= s.chained_outputs.size(); ++i) {
      const cuda::TensorRef& y = i == 0 ? s.output : s.chained_outputs[i - 1];
      pool(*x, y, node);
      x = &y;
    }
  }

  void pool(const cuda::TensorRef& x, const cuda::TensorRef& y, const Node& node) {
    const ops::WindowGeometry geo = ops::resolve_window(node, x.shape, node.attr_ints("kernel_shape"), node.attr_int("ceil_mode", 0) != 0);
    for_each(y.shape, [&](const std::vector<std::int64_t>& i) {
      float best = -INFINITY;
      for (std::int64_t kh = 0; kh < geo.kernel[0]; ++kh)
        for (std::int64_t kw = 0; kw < geo.kernel[1]; ++kw) {
          const std::int64_t h = i[2] * geo.strides[0] - geo.pads_begin[0] + kh * geo.dilations[0];
          const std::int64_t w = i[3] * geo.strides[1] - geo.pads_begin[1] + kw * geo.dilations[1];
          if (h >= 0 && h < x.shape[2] && w >= 0 && w < x.shape[3]) best = std::max(best, load(x, offset(x, {i[0], i[1], h, w})));
        }
      store(y, offset(y, i), best);
    });
  }


  void resize(const cuda::Step& s) {  // nearest, asymmetric, floor (what the fixtures use)
    const cuda::TensorRef& x = s.inputs[0];
    for_each(s.output.shape, [&](const std::vector<std::int64_t>& i) {
      const std::int64_t h = std::min(x.shape[2] - 1, i[2] * x.shape[2] / s.output.shape[2]);
      const std::int64_t w = std::min(x.shape[3] - 1, i[3] * x.shape[3] / s.output.shape[3]);
      store(s.output, offset(s.output, i), load(x, offset(x, {i[0], i[1], h, w})));
    });
  }

  void softmax(const cuda::Step& s, const Node& node) {
    const cuda::TensorRef& x = s.inputs[0];
    const auto axis = static_cast<std::size_t>(normalize_axis(node.attr_int("axis", -1), x.shape.size()));
    Shape rows = x.shape;
    rows[axis] = 1;
    for_each(rows, [&](std::vector<std::int64_t> i) {
      float peak = -INFINITY, sum = 0.0f;
      for (i[axis] = 0; i[axis] < x.shape[axis]; ++i[axis]) peak = std::max(peak, load(x, offset(x, i)));
      for (i[axis] = 0; i[axis] < x.shape[axis]; ++i[axis]) sum += std::exp(load(x, offset(x, i)) - peak);
      for (i[axis] = 0; i[axis] < x.shape[axis]; ++i[axis]) {
        store(s.output, offset(s.output, i), std::exp(load(x, offset(x, i)) - peak) / sum);
      }
    });
  }

  // The fused head (detect_head.h), written from its description: DFL expectation per side,
  // box around the grid anchor times the level's stride, sigmoid of the class logits.
  void detect_head(const cuda::Step& s, const cuda::DetectHead& head) {
    const cuda::TensorRef& y = s.output;
    std::int64_t anchor = 0;
    for (std::size_t l = 0; l < head.levels.size(); ++l) {
      const cuda::TensorRef &box = s.inputs[2 * l], &cls = s.inputs[2 * l + 1];
      const cuda::DetectHeadLevel& level = head.levels[l];
      for (std::int64_t h = 0; h < level.height; ++h)
        for (std::int64_t w = 0; w < level.width; ++w, ++anchor)
          for (std::int64_t n = 0; n < head.batch; ++n) {
            float d[4];
            for (std::int64_t side = 0; side < 4; ++side) {
              const std::int64_t bins = static_cast<std::int64_t>(head.bin_weights.size());
              std::vector<float> x(static_cast<std::size_t>(bins));
              for (std::int64_t k = 0; k < bins; ++k) x[static_cast<std::size_t>(k)] = load(box, offset(box, {n, side * bins + k, h, w}));
              const float peak = *std::max_element(x.begin(), x.end());
              float sum = 0.0f, dot = 0.0f;
              for (std::int64_t k = 0; k < bins; ++k) {
                const float e = std::exp(x[static_cast<std::size_t>(k)] - peak);
                sum += e;
                dot += head.bin_weights[static_cast<std::size_t>(k)] * e;
              }
              d[side] = dot / sum;
            }
            const float ax = static_cast<float>(w) + head.anchor_offset, ay = static_cast<float>(h) + head.anchor_offset;
            const float x1 = ax - d[0], y1 = ay - d[1], x2 = ax + d[2], y2 = ay + d[3];
            const float out[4] = {(x1 + x2) / head.divisor, (y1 + y2) / head.divisor, x2 - x1, y2 - y1};
            for (std::int64_t r = 0; r < 4; ++r) store(y, offset(y, {n, r, anchor}), out[r] * level.stride);
            for (std::int64_t c = 0; c < head.classes; ++c) {
              const float v = load(cls, offset(cls, {n, c, h, w}));
              store(y, offset(y, {n, 4 + c, anchor}), ops::apply_activation(ops::Activation::kSigmoid, v));
            }
          }
    }
  }

  const Graph& g_;
  const cuda::LoweredGraph& l_;
  std::vector<std::byte> arena_;
  std::map<int, std::vector<float>> constants_;
};

}  // namespace detstream::inference::testing
