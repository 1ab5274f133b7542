// TensorRef: where one tensor lives on the device, as the CUDA backend plans it (pure C++, no CUDA).
// A root buffer (a region of the context's activation arena, or one of the engine's constants), an
// element offset into it, the storage type and one element stride per logical dimension. Strides
// express every layout the backend uses: NCHW, NHWC, channel slices of a concatenation, split and
// slice views, transposes, broadcasts (stride 0). Plain values; thread-safe to read.
#pragma once

#include <cstdint>
#include <vector>

#include "inference/core/data_type.h"
#include "inference/core/shape.h"

namespace detstream::inference::cuda {

struct TensorRef {
  int root = -1;
  std::int64_t offset = 0;  // elements
  DataType dtype = DataType::kUndefined;
  Shape shape;
  std::vector<std::int64_t> strides;  // elements, one per dimension of `shape`

  bool valid() const { return root >= 0; }
  std::int64_t count() const { return element_count(shape); }
};

std::vector<std::int64_t> row_major_strides(const Shape& shape);
// Strides of a rank-4 N x C x H x W tensor stored as N x H x W x C.
std::vector<std::int64_t> nhwc_strides(const Shape& shape);

bool is_packed_row_major(const TensorRef& ref);
bool is_packed_nhwc(const TensorRef& ref);
bool same_place(const TensorRef& a, const TensorRef& b);

// Views; none of them moves data.
TensorRef slice_view(const TensorRef& ref, int axis, std::int64_t start, std::int64_t size, std::int64_t step = 1);
TensorRef permute_view(const TensorRef& ref, const std::vector<std::int64_t>& perm);
// Right-aligned NumPy broadcast to `shape` (size-1 and missing dimensions get stride 0).
TensorRef broadcast_view(const TensorRef& ref, const Shape& shape);
// Same bytes read in row-major order with another shape; only for packed row-major refs.
TensorRef reshape_view(const TensorRef& ref, const Shape& shape);

}  // namespace detstream::inference::cuda
