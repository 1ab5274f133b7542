#include "inference/ops/strided_copy.h"

#include <cstring>

#include "inference/ops/rank_buffer.h"

namespace detstream::inference::ops {

namespace {

// Copies one innermost row of `count` elements.
void copy_row(const std::byte* src, std::int64_t stride, std::int64_t count, std::size_t size, std::byte* dst) {
  if (stride == 1) {
    std::memcpy(dst, src, static_cast<std::size_t>(count) * size);
    return;
  }
  if (size == 4) {
    const auto* s = reinterpret_cast<const std::uint32_t*>(src);
    auto* d = reinterpret_cast<std::uint32_t*>(dst);
    for (std::int64_t i = 0; i < count; ++i) d[i] = s[i * stride];
    return;
  }
  for (std::int64_t i = 0; i < count; ++i) std::memcpy(dst + i * static_cast<std::int64_t>(size), src + i * stride * static_cast<std::int64_t>(size), size);
}

}  // namespace

void strided_copy(const void* src, std::int64_t offset, std::span<const std::int64_t> src_strides,
                  const Shape& out_shape, std::size_t element_bytes, void* dst) {
  const std::int64_t count = element_count(out_shape);
  if (count <= 0) return;
  const auto size = static_cast<std::int64_t>(element_bytes);
  const auto* base = static_cast<const std::byte*>(src) + offset * size;
  auto* out = static_cast<std::byte*>(dst);
  if (out_shape.empty()) {
    std::memcpy(out, base, element_bytes);
    return;
  }
  const std::size_t rank = out_shape.size();
  const std::int64_t row = out_shape[rank - 1], inner_stride = src_strides[rank - 1];
  RankBuffer<std::int64_t> index(rank - 1);
  std::int64_t src_offset = 0;
  for (std::int64_t done = 0; done < count; done += row) {
    copy_row(base + src_offset * size, inner_stride, row, element_bytes, out + done * size);
    for (std::size_t d = rank - 1; d-- > 0;) {
      ++index[d];
      src_offset += src_strides[d];
      if (index[d] < out_shape[d]) break;
      src_offset -= src_strides[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace detstream::inference::ops
