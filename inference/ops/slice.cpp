// Slice (opset 10+: starts, ends and optional axes, steps as inputs known at build time; the
// attribute form of opsets 1-9 is rejected at import). Negative starts/ends count from the end,
// out-of-range values are clamped as ONNX specifies, negative steps walk backwards. Any type.
#include <algorithm>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/operand.h"
#include "inference/ops/strided_copy.h"

namespace detstream::inference::ops {

namespace {

struct SliceWindow {
  Shape output;
  std::int64_t offset = 0;               // first element read, in elements
  std::vector<std::int64_t> strides;     // element stride per output dimension
};

std::int64_t clamp_to(std::int64_t v, std::int64_t lo, std::int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

SliceWindow resolve(const Node& node, const Shape& x, const std::vector<std::int64_t>& starts,
                    const std::vector<std::int64_t>& ends, std::vector<std::int64_t> axes, std::vector<std::int64_t> steps) {
  const std::size_t n = starts.size();
  if (ends.size() != n) throw node_error(node, "'starts' and 'ends' have different lengths");
  if (axes.empty()) {
    for (std::size_t i = 0; i < n; ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  if (steps.empty()) steps.assign(n, 1);
  if (axes.size() != n || steps.size() != n) throw node_error(node, "'axes' and 'steps' must have the length of 'starts'");
  const auto rank = static_cast<std::int64_t>(x.size());
  std::vector<std::int64_t> begin(x.size(), 0), step(x.size(), 1);
  SliceWindow w;
  w.output = x;
  std::vector<char> seen(x.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (axes[i] < -rank || axes[i] >= rank) {
      throw node_error(node, "'axes' entry " + std::to_string(axes[i]) + " is out of range for rank " + std::to_string(rank));
    }
    const auto a = static_cast<std::size_t>(axes[i] < 0 ? axes[i] + rank : axes[i]);
    if (seen[a]) throw node_error(node, "'axes' repeats axis " + std::to_string(axes[i]));
    seen[a] = 1;
    if (steps[i] == 0) throw node_error(node, "'steps' may not contain 0");
    const std::int64_t dim = x[a];
    std::int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    std::int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    std::int64_t len = 0;
    if (steps[i] > 0) {
      s = clamp_to(s, 0, dim);
      e = clamp_to(e, 0, dim);
      len = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
    } else {
      s = clamp_to(s, 0, dim - 1);
      e = clamp_to(e, -1, dim - 1);
      len = s > e ? (s - e - steps[i] - 1) / -steps[i] : 0;
    }
    begin[a] = len > 0 ? s : 0;
    step[a] = steps[i];
    w.output[a] = len;
  }
  const std::vector<std::int64_t> dense = strides_of(x);
  w.strides.resize(x.size());
  for (std::size_t a = 0; a < x.size(); ++a) {
    w.offset += begin[a] * dense[a];
    w.strides[a] = step[a] * dense[a];
  }
  return w;
}

std::vector<OutputInfo> infer_slice(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 3, 5);
  const auto operand = [&](std::size_t i, const char* what) {
    return i < in.size() && in[i].present() ? constant_ints(in[i], node, what) : std::vector<std::int64_t>{};
  };
  const SliceWindow w = resolve(node, in[0].shape, operand(1, "starts"), operand(2, "ends"), operand(3, "axes"),
                                operand(4, "steps"));
  return {OutputInfo{in[0].dtype, w.output, nullptr}};
}

void slice(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const auto operand = [&](std::size_t i, const char* what) {
    return i < in.size() && in[i].data ? read_ints(node, in[i], what) : std::vector<std::int64_t>{};
  };
  const SliceWindow w = resolve(node, in[0].shape, operand(1, "starts"), operand(2, "ends"), operand(3, "axes"),
                                operand(4, "steps"));
  strided_copy(in[0].data, w.offset, w.strides, w.output, element_size(in[0].dtype), out[0].data);
}

}  // namespace

const OpSchema kSlice{"Slice", 10, infer_slice, slice, 0b11110u};

}  // namespace detstream::inference::ops
