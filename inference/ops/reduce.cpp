// Reductions: ReduceSum (axes input from opset 13), ReduceMean, ReduceMax, ReduceMin (axes input
// from opset 18; an attribute before). keepdims (default 1); no axes means all axes, unless
// noop_with_empty_axes makes the op an identity. Numeric types; float sums accumulate in double.
#include <algorithm>
#include <array>
#include <limits>

#include "inference/ops/broadcast.h"
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/operand.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

enum class Kind { kSum, kMean, kMax, kMin };

Kind kind_of(const Node& node) {
  if (node.op_type == "ReduceSum") return Kind::kSum;
  if (node.op_type == "ReduceMean") return Kind::kMean;
  if (node.op_type == "ReduceMax") return Kind::kMax;
  return Kind::kMin;
}

bool axes_is_input(const Node& node) { return node.opset >= (kind_of(node) == Kind::kSum ? 13 : 18); }

// Which dimensions are reduced; `axes` are as given (empty: all, unless noop_with_empty_axes).
std::vector<char> reduced_dims(const Node& node, std::size_t rank, const std::vector<std::int64_t>& axes) {
  const bool noop = axes_is_input(node) && node.attr_int("noop_with_empty_axes", 0) != 0;
  std::vector<char> reduced(rank, axes.empty() && !noop ? 1 : 0);
  const auto r = static_cast<std::int64_t>(rank);
  for (std::int64_t a : axes) {
    if (a < -r || a >= r) throw node_error(node, "axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    reduced[static_cast<std::size_t>(a < 0 ? a + r : a)] = 1;
  }
  return reduced;
}

// The output shape with reduced dimensions kept as 1 (what the kernel indexes with).
Shape kept_shape(const Shape& x, const std::vector<char>& reduced) {
  Shape kept = x;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (reduced[i]) kept[i] = 1;
  }
  return kept;
}

std::vector<OutputInfo> infer_reduce(const Node& node, std::span<const InputInfo> in) {
  const bool axes_input = axes_is_input(node);
  check_input_count(node, node.input_count(), 1, axes_input ? 2 : 1);
  dispatch_numeric(node, in[0].dtype, [](auto) {});
  std::vector<std::int64_t> axes = node.attr_ints("axes");
  if (axes_input && in.size() > 1 && in[1].present()) axes = constant_ints(in[1], node, "axes");
  const std::vector<char> reduced = reduced_dims(node, in[0].shape.size(), axes);
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  Shape out;
  for (std::size_t i = 0; i < reduced.size(); ++i) {
    if (!reduced[i]) out.push_back(in[0].shape[i]);
    else if (keepdims) out.push_back(1);
  }
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

void reduce(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  std::vector<std::int64_t> axes = node.attr_ints("axes");
  if (axes_is_input(node) && in.size() > 1 && in[1].data) axes = read_ints(node, in[1], "axes");
  const Shape& x = in[0].shape;
  const Shape kept = kept_shape(x, reduced_dims(node, x.size(), axes));
  const Kind kind = kind_of(node);
  const std::int64_t outputs = element_count(kept), inputs = element_count(x);
  const std::int64_t group = outputs ? inputs / outputs : 0;
  dispatch_numeric(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    const T* src = in[0].as<T>();
    T* dst = out[0].as<T>();
    std::vector<Acc> acc(static_cast<std::size_t>(outputs));
    const Acc init = kind == Kind::kMax   ? static_cast<Acc>(std::numeric_limits<T>::lowest())
                     : kind == Kind::kMin ? static_cast<Acc>(std::numeric_limits<T>::max())
                                          : Acc{0};
    std::fill(acc.begin(), acc.end(), init);
    for_each_broadcast_n<1>({&kept}, x, [&](std::int64_t i, const std::array<std::int64_t, 1>& o) {
      Acc& a = acc[static_cast<std::size_t>(o[0])];
      const Acc v = static_cast<Acc>(src[i]);
      switch (kind) {
        case Kind::kMax: a = std::max(a, v); break;
        case Kind::kMin: a = std::min(a, v); break;
        default: a += v;
      }
    });
    for (std::int64_t j = 0; j < outputs; ++j) {
      Acc v = acc[static_cast<std::size_t>(j)];
      if (kind == Kind::kMean && group) v /= static_cast<Acc>(group);
      dst[j] = static_cast<T>(v);
    }
  });
}

}  // namespace

const OpSchema kReduceSum{"ReduceSum", 1, infer_reduce, reduce, 1u << 1};
const OpSchema kReduceMean{"ReduceMean", 1, infer_reduce, reduce, 1u << 1};
const OpSchema kReduceMax{"ReduceMax", 1, infer_reduce, reduce, 1u << 1};
const OpSchema kReduceMin{"ReduceMin", 1, infer_reduce, reduce, 1u << 1};

}  // namespace detstream::inference::ops
