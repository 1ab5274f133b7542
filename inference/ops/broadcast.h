// Broadcast iteration for elementwise kernels: maps each output index to the two input offsets.
// Plain reference code; fast paths for equal shapes and scalar operands.
#pragma once

#include <cstdint>
#include <vector>

#include "inference/core/shape.h"

namespace detstream::inference::ops {

// Strides of `input` as seen from `output` (0 along broadcast dimensions).
std::vector<std::int64_t> broadcast_strides(const Shape& input, const Shape& output);

// Calls fn(out_index, a_offset, b_offset) for every element of the output.
template <typename Fn>
void for_each_broadcast(const Shape& a, const Shape& b, const Shape& out, Fn&& fn) {
  const std::int64_t count = element_count(out);
  if (a == out && b == out) {
    for (std::int64_t i = 0; i < count; ++i) fn(i, i, i);
    return;
  }
  const auto sa = broadcast_strides(a, out);
  const auto sb = broadcast_strides(b, out);
  const std::size_t rank = out.size();
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t oa = 0, ob = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    fn(i, oa, ob);
    for (std::size_t d = rank; d-- > 0;) {
      ++index[d];
      oa += sa[d];
      ob += sb[d];
      if (index[d] < out[d]) break;
      oa -= sa[d] * out[d];
      ob -= sb[d] * out[d];
      index[d] = 0;
    }
  }
}

}  // namespace detstream::inference::ops
