// Transpose: permutes dimensions by 'perm' (default: reversed). Any element type.
#include "inference/ops/op_error.h"
#include "inference/ops/op_list.h"
#include "inference/ops/rank_buffer.h"
#include "inference/ops/strided_copy.h"

namespace detstream::inference::ops {

namespace {

std::vector<std::int64_t> permutation(const Node& node, std::size_t rank) {
  std::vector<std::int64_t> perm = node.attr_ints("perm");
  if (!node.has_attribute("perm")) {
    for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
    return perm;
  }
  std::vector<char> seen(rank, 0);
  bool valid = perm.size() == rank;
  for (std::int64_t p : perm) {
    valid = valid && p >= 0 && p < static_cast<std::int64_t>(rank) && !seen[static_cast<std::size_t>(p)];
    if (valid) seen[static_cast<std::size_t>(p)] = 1;
  }
  if (!valid) throw node_error(node, "attribute 'perm' = " + list_string(perm) + " is not a permutation of rank " + std::to_string(rank));
  return perm;
}

std::vector<OutputInfo> infer_transpose(const Node& node, std::span<const InputInfo> in) {
  check_input_count(node, node.input_count(), 1, 1);
  const std::vector<std::int64_t> perm = permutation(node, in[0].shape.size());
  Shape out(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) out[i] = in[0].shape[static_cast<std::size_t>(perm[i])];
  return {OutputInfo{in[0].dtype, out, nullptr}};
}

void transpose(const Node& node, std::span<const ConstTensorView> in, std::span<const TensorView> out) {
  // perm was validated by infer; read it in place (this runs per frame).
  const Shape& x = in[0].shape;
  const std::size_t rank = x.size();
  const auto it = node.attributes.find("perm");
  RankBuffer<std::int64_t> dense(rank), strides(rank);
  for (std::size_t i = rank, step = 1; i-- > 0; step *= static_cast<std::size_t>(x[i])) dense[i] = static_cast<std::int64_t>(step);
  for (std::size_t i = 0; i < rank; ++i) {
    strides[i] = dense[it == node.attributes.end() ? rank - 1 - i : static_cast<std::size_t>(it->second.ints[i])];
  }
  strided_copy(in[0].data, 0, {strides.data(), rank}, out[0].shape, element_size(in[0].dtype), out[0].data);
}

}  // namespace

const OpSchema kTranspose{"Transpose", 1, infer_transpose, transpose};

}  // namespace detstream::inference::ops
