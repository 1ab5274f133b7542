// Broadcast iteration for elementwise kernels: maps each output index to the input offsets of
// NumPy-style (multidirectional) broadcasting. Plain reference code with fast paths for equal
// shapes and scalar operands; no allocation up to rank 8. Thread-safe (no shared state).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "inference/core/shape.h"
#include "inference/ops/rank_buffer.h"

namespace detstream::inference::ops {

// Strides of `input` as seen from `output` (0 along broadcast dimensions).
std::vector<std::int64_t> broadcast_strides(const Shape& input, const Shape& output);
// The same into `strides` (output.size() entries), without allocating.
void broadcast_strides_into(const Shape& input, const Shape& output, std::int64_t* strides);

// Calls fn(out_index, offsets) for every element of `out`, where offsets[i] indexes input i.
template <std::size_t N, typename Fn>
void for_each_broadcast_n(const std::array<const Shape*, N>& inputs, const Shape& out, Fn&& fn) {
  const std::int64_t count = element_count(out);
  std::array<std::int64_t, N> offsets{};
  bool dense = true;
  for (const Shape* s : inputs) dense = dense && *s == out;
  if (dense) {
    for (std::int64_t i = 0; i < count; ++i) {
      offsets.fill(i);
      fn(i, offsets);
    }
    return;
  }
  const std::size_t rank = out.size();
  RankBuffer<std::int64_t, 8 * N> strides(rank * N);  // strides[d * N + k]
  RankBuffer<std::int64_t> index(rank);
  {
    RankBuffer<std::int64_t> one(rank);
    for (std::size_t k = 0; k < N; ++k) {
      broadcast_strides_into(*inputs[k], out, one.data());
      for (std::size_t d = 0; d < rank; ++d) strides[d * N + k] = one[d];
    }
  }
  for (std::int64_t i = 0; i < count; ++i) {
    fn(i, offsets);
    for (std::size_t d = rank; d-- > 0;) {
      ++index[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += strides[d * N + k];
      if (index[d] < out[d]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= strides[d * N + k] * out[d];
      index[d] = 0;
    }
  }
}

// Calls fn(out_index, a_offset, b_offset) for every element of the output.
template <typename Fn>
void for_each_broadcast(const Shape& a, const Shape& b, const Shape& out, Fn&& fn) {
  const std::int64_t count = element_count(out);
  if (a == out && b == out) {
    for (std::int64_t i = 0; i < count; ++i) fn(i, i, i);
    return;
  }
  if (a == out && element_count(b) == 1) {
    for (std::int64_t i = 0; i < count; ++i) fn(i, i, std::int64_t{0});
    return;
  }
  if (b == out && element_count(a) == 1) {
    for (std::int64_t i = 0; i < count; ++i) fn(i, std::int64_t{0}, i);
    return;
  }
  for_each_broadcast_n<2>({&a, &b}, out, [&](std::int64_t i, const std::array<std::int64_t, 2>& o) { fn(i, o[0], o[1]); });
}

}  // namespace detstream::inference::ops
