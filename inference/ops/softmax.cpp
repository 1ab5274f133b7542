// Softmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalised over
// the whole flattened second dimension; from opset 13 it is normalised along `axis` alone
// (default -1). float32/float64; the maximum is subtracted first so large inputs do not overflow.
#include <algorithm>
#include <cmath>

#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/type_dispatch.h"

namespace detstream::inference::ops {

namespace {

struct Extent {
  std::int64_t outer = 1, dim = 1, inner = 1;
};

Extent extent_of(const Node& node, const Shape& x) {
  const auto rank = static_cast<std::int64_t>(x.size());
  const bool legacy = node.opset < 13;
  std::int64_t axis = node.attr_int("axis", legacy ? 1 : -1);
  // Legacy coercion accepts axis == rank (everything in the first dimension).
  if (axis < -rank || axis > (legacy ? rank : rank - 1) || (rank == 0 && !legacy)) {
    throw node_error(node, "attribute 'axis' = " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  Extent e;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t n = x[static_cast<std::size_t>(d)];
    if (d < axis) e.outer *= n;
    else if (legacy || d == axis) e.dim *= n;
    else e.inner *= n;
  }
  return e;
}

std::vector<OutputInfo> infer_softmax(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  dispatch_float(node, in[0].dtype, [](auto) {});
  extent_of(node, in[0].shape);
  return {same_as(in[0])};
}

void softmax(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  const Extent e = extent_of(node, in[0].shape);
  dispatch_float(node, in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = in[0].as<T>();
    T* y = out[0].as<T>();
    for (std::int64_t o = 0; o < e.outer; ++o) {
      for (std::int64_t i = 0; i < e.inner; ++i) {
        const std::int64_t base = o * e.dim * e.inner + i;
        T peak = x[base];
        for (std::int64_t d = 1; d < e.dim; ++d) peak = std::max(peak, x[base + d * e.inner]);
        double sum = 0.0;
        for (std::int64_t d = 0; d < e.dim; ++d) {
          const T v = std::exp(x[base + d * e.inner] - peak);
          y[base + d * e.inner] = v;
          sum += v;
        }
        const double scale = 1.0 / sum;
        for (std::int64_t d = 0; d < e.dim; ++d) y[base + d * e.inner] = static_cast<T>(y[base + d * e.inner] * scale);
      }
    }
  });
}

}  // namespace

const OpSchema kSoftmax{"Softmax", 1, infer_softmax, softmax};

}  // namespace detstream::inference::ops
