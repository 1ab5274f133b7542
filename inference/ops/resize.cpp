// Resize (opset 10: X, scales; opset 11+: X, roi, scales, sizes; the operands are known at build
// time). Modes nearest (every coordinate_transformation_mode and nearest_mode; any element type),
// linear and cubic (float32/float64; separable, one axis at a time, which is exactly the
// multilinear / bicubic result). Geometry in resize_geometry.h.
//
// Nearest without cropping, the YOLO upsample, is a direct gather through per-axis index tables
// kept in a per-thread buffer, so steady-state runs do not allocate.
#include <array>
#include <cstring>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/operand.h"
#include "inference/ops/resize_geometry.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

constexpr std::size_t kMaxRank = 8;

struct OperandIndex {
  int roi = -1, scales = -1, sizes = -1;
};

OperandIndex operand_index(const Node& node) { return node.opset < 11 ? OperandIndex{-1, 1, -1} : OperandIndex{1, 2, 3}; }

std::vector<double> floats_of(const Node& node, const ConstTensorView& v, const char* what) {
  std::vector<double> values(static_cast<std::size_t>(v.count()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (v.dtype) {
      case DataType::kFloat32: values[i] = v.as<float>()[i]; break;
      case DataType::kFloat64: values[i] = v.as<double>()[i]; break;
      case DataType::kFloat16: values[i] = half_to_float(v.as<std::uint16_t>()[i]); break;
      default: throw node_error(node, std::string("input '") + what + "' must be a float tensor");
    }
  }
  return values;
}

std::vector<OutputInfo> infer_resize(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), node.opset < 11 ? 2 : 1, node.opset < 11 ? 2 : 4);
  const ResizeAttributes attrs = resize_attributes(node);
  if (attrs.mode != ResizeMode::kNearest) dispatch_float(node, in[0].dtype, [](auto) {});
  if (element_size(in[0].dtype) == 0) throw node_error(node, "input X has an unsupported element type");
  if (in[0].shape.size() > kMaxRank) throw node_error(node, "input rank above " + std::to_string(kMaxRank) + " is not supported");
  const OperandIndex idx = operand_index(node);
  const auto given = [&](int i) { return i >= 0 && static_cast<std::size_t>(i) < in.size() && in[static_cast<std::size_t>(i)].present(); };
  const auto constant = [&](int i, const char* what) -> const Tensor& {
    const InputInfo& info = in[static_cast<std::size_t>(i)];
    if (!info.constant) {
      throw node_error(node, std::string("its ") + what + " input must be known at build time (a constant or a foldable shape chain)");
    }
    return *info.constant;
  };
  ResizeOperands ops;
  if (given(idx.scales)) ops.scales = floats_of(node, constant(idx.scales, "scales").view(), "scales");
  if (given(idx.sizes)) ops.sizes = constant(idx.sizes, "sizes").to_int64_vector();
  if (attrs.coordinates == CoordinateMode::kTfCropAndResize && given(idx.roi)) {
    ops.roi = floats_of(node, constant(idx.roi, "roi").view(), "roi");
  }
  return {OutputInfo{in[0].dtype, resolve_resize(node, attrs, in[0].shape, ops).output, nullptr}};
}

// Nearest without extrapolation: out[i...] = in[table_0[i0], table_1[i1], ...].
void resize_nearest(const ResizeAttributes& attrs, const ResizePlan& plan, const ConstTensorView& x, const TensorView& y) {
  const Shape& in = x.shape;
  const Shape& out = y.shape;
  const std::size_t rank = in.size();
  if (element_count(out) == 0) return;
  thread_local std::vector<std::int64_t> tables;  // per axis: source offset of each output index
  tables.clear();
  std::array<std::size_t, kMaxRank> start{};
  std::int64_t stride = 1;
  for (std::size_t a = rank; a-- > 0;) {
    start[a] = tables.size();
    for (std::int64_t o = 0; o < out[a]; ++o) {
      const ResizeTaps t = resize_taps(attrs, o, in[a], out[a], plan.scales[a], plan.roi_start[a], plan.roi_end[a]);
      tables.push_back(t.index[0] * stride);
    }
    stride *= in[a];
  }
  const std::size_t size = element_size(x.dtype);
  const auto* src = x.as<std::byte>();
  auto* dst = y.as<std::byte>();
  if (rank == 0) {
    std::memcpy(dst, src, size);
    return;
  }
  const std::int64_t row = out[rank - 1];
  const std::int64_t* last = tables.data() + start[rank - 1];
  std::array<std::int64_t, kMaxRank> index{};
  const std::int64_t total = element_count(out);
  for (std::int64_t done = 0; done < total; done += row) {
    std::int64_t base = 0;
    for (std::size_t a = 0; a + 1 < rank; ++a) base += tables[start[a] + static_cast<std::size_t>(index[a])];
    if (size == 4) {
      const auto* s = reinterpret_cast<const std::uint32_t*>(src) + base;
      auto* d = reinterpret_cast<std::uint32_t*>(dst) + done;
      for (std::int64_t j = 0; j < row; ++j) d[j] = s[last[j]];
    } else {
      for (std::int64_t j = 0; j < row; ++j) std::memcpy(dst + (done + j) * size, src + (base + last[j]) * size, size);
    }
    for (std::size_t a = rank - 1; a-- > 0;) {
      if (++index[a] < out[a]) break;
      index[a] = 0;
    }
  }
}

// One axis at a time, innermost first: each pass resamples axis `a` of `cur` into `next`.
template <typename T>
void resize_separable(const ResizeAttributes& attrs, const ResizePlan& plan, const ConstTensorView& x, const TensorView& y) {
  Shape shape = x.shape;
  std::vector<T> cur(x.as<T>(), x.as<T>() + x.count()), next;
  const bool crop = attrs.coordinates == CoordinateMode::kTfCropAndResize;
  for (std::size_t a = shape.size(); a-- > 0;) {
    if (!crop && plan.output[a] == shape[a] && plan.scales[a] == 1.0) continue;
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d) outer *= shape[d];
    for (std::size_t d = a + 1; d < shape.size(); ++d) inner *= shape[d];
    const std::int64_t in_len = shape[a], out_len = plan.output[a];
    std::vector<ResizeTaps> taps;
    for (std::int64_t o = 0; o < out_len; ++o) {
      taps.push_back(resize_taps(attrs, o, in_len, out_len, plan.scales[a], plan.roi_start[a], plan.roi_end[a]));
    }
    next.assign(static_cast<std::size_t>(outer * out_len * inner), T{});
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* src = cur.data() + o * in_len * inner;
      for (std::int64_t j = 0; j < out_len; ++j) {
        T* dst = next.data() + (o * out_len + j) * inner;
        const ResizeTaps& t = taps[static_cast<std::size_t>(j)];
        for (std::int64_t i = 0; i < inner; ++i) {
          double v = attrs.extrapolation_value;
          if (!t.extrapolate) {
            v = 0;
            for (int k = 0; k < t.count; ++k) v += t.weight[k] * static_cast<double>(src[t.index[k] * inner + i]);
          }
          dst[i] = static_cast<T>(v);
        }
      }
    }
    shape[a] = out_len;
    cur.swap(next);
  }
  if (!cur.empty()) std::memcpy(y.data, cur.data(), cur.size() * sizeof(T));
}

void resize(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const ResizeAttributes attrs = resize_attributes(node);
  const OperandIndex idx = operand_index(node);
  const auto given = [&](int i) { return i >= 0 && static_cast<std::size_t>(i) < in.size() && in[static_cast<std::size_t>(i)].data; };
  ResizeOperands ops;
  if (given(idx.scales)) ops.scales = floats_of(node, in[static_cast<std::size_t>(idx.scales)], "scales");
  if (given(idx.sizes)) ops.sizes = read_ints(node, in[static_cast<std::size_t>(idx.sizes)], "sizes");
  if (attrs.coordinates == CoordinateMode::kTfCropAndResize && given(idx.roi)) {
    ops.roi = floats_of(node, in[static_cast<std::size_t>(idx.roi)], "roi");
  }
  const ResizePlan plan = resolve_resize(node, attrs, in[0].shape, ops);
  if (attrs.mode == ResizeMode::kNearest && attrs.coordinates != CoordinateMode::kTfCropAndResize) {
    resize_nearest(attrs, plan, in[0], out[0]);
    return;
  }
  if (attrs.mode == ResizeMode::kNearest) {
    dispatch_numeric(node, in[0].dtype, [&](auto tag) { resize_separable<decltype(tag)>(attrs, plan, in[0], out[0]); });
    return;
  }
  dispatch_float(node, in[0].dtype, [&](auto tag) { resize_separable<decltype(tag)>(attrs, plan, in[0], out[0]); });
}

}  // namespace

const OpSchema kResize{"Resize", 10, infer_resize, resize, 0b1110u};

}  // namespace detstream::inference::ops
