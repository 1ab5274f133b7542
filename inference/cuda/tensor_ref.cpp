#include "inference/cuda/tensor_ref.h"

#include "inference/core/error.h"

namespace detstream::inference::cuda {

std::vector<std::int64_t> row_major_strides(const Shape& shape) { return strides_of(shape); }

std::vector<std::int64_t> nhwc_strides(const Shape& shape) {
  if (shape.size() != 4) throw Error("NHWC strides need a rank-4 shape, got " + to_string(shape));
  const std::int64_t c = shape[1], h = shape[2], w = shape[3];
  return {h * w * c, 1, w * c, c};
}

bool is_packed_row_major(const TensorRef& ref) { return ref.strides == row_major_strides(ref.shape); }

bool is_packed_nhwc(const TensorRef& ref) { return ref.shape.size() == 4 && ref.strides == nhwc_strides(ref.shape); }

bool same_place(const TensorRef& a, const TensorRef& b) {
  return a.root == b.root && a.offset == b.offset && a.dtype == b.dtype && a.shape == b.shape && a.strides == b.strides;
}

TensorRef slice_view(const TensorRef& ref, int axis, std::int64_t start, std::int64_t size, std::int64_t step) {
  TensorRef view = ref;
  const auto a = static_cast<std::size_t>(axis);
  view.offset += start * ref.strides[a];
  view.shape[a] = size;
  view.strides[a] = ref.strides[a] * step;
  return view;
}

TensorRef permute_view(const TensorRef& ref, const std::vector<std::int64_t>& perm) {
  TensorRef view = ref;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    view.shape[i] = ref.shape[static_cast<std::size_t>(perm[i])];
    view.strides[i] = ref.strides[static_cast<std::size_t>(perm[i])];
  }
  return view;
}

TensorRef broadcast_view(const TensorRef& ref, const Shape& shape) {
  if (ref.shape.size() > shape.size()) {
    throw Error("cannot broadcast " + to_string(ref.shape) + " to " + to_string(shape));
  }
  TensorRef view = ref;
  view.shape = shape;
  view.strides.assign(shape.size(), 0);
  const std::size_t lead = shape.size() - ref.shape.size();
  for (std::size_t i = 0; i < ref.shape.size(); ++i) {
    if (ref.shape[i] == shape[lead + i]) {
      view.strides[lead + i] = ref.shape[i] == 1 ? 0 : ref.strides[i];
    } else if (ref.shape[i] != 1) {
      throw Error("cannot broadcast " + to_string(ref.shape) + " to " + to_string(shape));
    }
  }
  return view;
}

TensorRef reshape_view(const TensorRef& ref, const Shape& shape) {
  if (!is_packed_row_major(ref) || element_count(shape) != ref.count()) {
    throw Error("internal: reshape view of a non-packed tensor or to another element count");
  }
  TensorRef view = ref;
  view.shape = shape;
  view.strides = row_major_strides(shape);
  return view;
}

}  // namespace detstream::inference::cuda
