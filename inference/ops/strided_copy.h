// Strided element copy: the one data-movement loop behind Slice, Transpose and Expand. Copies
// every element of an output of shape `out_shape` (row-major, dense) from `src`, where output
// index (i0..ik) reads src[offset + sum(i_d * src_strides[d])] (strides in elements, may be
// negative or zero). Type-agnostic (elements of `element_bytes`); contiguous rows use memcpy.
// No allocation up to rank 8; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "inference/core/shape.h"

namespace detstream::inference::ops {

void strided_copy(const void* src, std::int64_t offset, std::span<const std::int64_t> src_strides,
                  const Shape& out_shape, std::size_t element_bytes, void* dst);

}  // namespace detstream::inference::ops
