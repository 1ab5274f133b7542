// Iteration spaces of the strided kernels (pure C++): drops unit dimensions and merges adjacent
// dimensions that are contiguous in every operand, so a packed copy becomes one flat loop and an
// NHWC-to-NCHW conversion keeps only the dimensions it must. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "inference/core/shape.h"

namespace detstream::inference::cuda {

struct IterationSpace {
  Shape dims;                                      // at least one dimension
  std::vector<std::vector<std::int64_t>> strides;  // per operand, one per dimension
};

// `strides[k]` are operand k's element strides over `dims`.
IterationSpace collapse_dims(const Shape& dims, const std::vector<std::vector<std::int64_t>>& strides);

}  // namespace detstream::inference::cuda
