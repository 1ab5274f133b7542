// Pure C++ helpers of the CUDA backend: views (tensor_ref), iteration-space collapsing and the
// conv weight layout. No GPU needed.
#ifdef DETSTREAM_WITH_CUDA
#include <gtest/gtest.h>

#include "inference/core/error.h"
#include "inference/cuda/iteration_space.h"
#include "inference/cuda/tensor_ref.h"
#include "inference/cuda/weight_layout.h"

namespace detstream::inference::cuda {
namespace {

TensorRef packed(const Shape& shape, bool nhwc) {
  TensorRef ref;
  ref.root = 0;
  ref.dtype = DataType::kFloat16;
  ref.shape = shape;
  ref.strides = nhwc ? nhwc_strides(shape) : row_major_strides(shape);
  return ref;
}

TEST(CudaTensorRef, NhwcChannelSliceIsAStridedView) {
  const TensorRef cat = packed({2, 15, 6, 5}, true);
  const TensorRef slice = slice_view(cat, 1, 5, 5);
  EXPECT_EQ(slice.offset, 5);
  EXPECT_EQ(slice.shape, (Shape{2, 5, 6, 5}));
  EXPECT_EQ(slice.strides, (std::vector<std::int64_t>{450, 1, 75, 15}));
  EXPECT_FALSE(is_packed_nhwc(slice));
  EXPECT_TRUE(is_packed_nhwc(slice_view(cat, 1, 0, 15)));
}

TEST(CudaTensorRef, PermuteBroadcastAndReshapeViews) {
  const TensorRef t = packed({1, 4, 4, 120}, false);
  const TensorRef p = permute_view(t, {0, 2, 1, 3});
  EXPECT_EQ(p.strides, (std::vector<std::int64_t>{1920, 120, 480, 1}));
  const TensorRef b = broadcast_view(packed({1, 120}, false), {2, 4, 120});
  EXPECT_EQ(b.strides, (std::vector<std::int64_t>{0, 0, 1}));
  EXPECT_THROW(broadcast_view(packed({3}, false), {2, 4}), Error);
  const TensorRef r = reshape_view(t, {1, 16, 120});
  EXPECT_TRUE(is_packed_row_major(r));
  EXPECT_THROW(reshape_view(p, {1, 16, 120}), Error);  // a transposed view is not packed
}

TEST(CudaIterationSpace, PackedCopyBecomesOneLoop) {
  const Shape dims{2, 3, 4, 5};
  const auto s = row_major_strides(dims);
  const IterationSpace space = collapse_dims(dims, {s, s});
  EXPECT_EQ(space.dims, (Shape{120}));
  EXPECT_EQ(space.strides[0], (std::vector<std::int64_t>{1}));
}

TEST(CudaIterationSpace, NchwToNhwcKeepsOnlyTheTransposedDimensions) {
  const Shape dims{1, 3, 8, 8};
  const IterationSpace space = collapse_dims(dims, {row_major_strides(dims), nhwc_strides(dims)});
  EXPECT_EQ(space.dims, (Shape{3, 64}));  // unit batch dropped, H and W merged
  EXPECT_EQ(space.strides[0], (std::vector<std::int64_t>{64, 1}));
  EXPECT_EQ(space.strides[1], (std::vector<std::int64_t>{1, 3}));
}

TEST(CudaIterationSpace, BroadcastDimensionsMergeAndAllUnitShapeKeepsOneDimension) {
  const IterationSpace bias = collapse_dims({2, 6, 5, 4}, {{120, 1, 24, 6}, {0, 1, 0, 0}});
  EXPECT_EQ(bias.dims, (Shape{2, 6, 20}));  // H and W merge in both operands, channel stays
  const IterationSpace scalar = collapse_dims({1, 1}, {{1, 1}});
  EXPECT_EQ(scalar.dims, (Shape{1}));
}

TEST(CudaWeightLayout, ReordersOihwToOhwi) {
  const Shape shape{2, 3, 2, 2};
  std::vector<float> values(24);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const std::vector<float> ohwi = conv_weights(Tensor::from_float(values, shape), true);
  // Element (o=1, i=2, h=0, w=1) sits at OIHW 1*12 + 2*4 + 0*2 + 1 = 21 and OHWI ((1*2+0)*2+1)*3+2 = 17.
  EXPECT_EQ(ohwi[17], 21.0f);
  EXPECT_EQ(conv_weights(Tensor::from_float(values, shape), false), values);
  const std::vector<std::uint16_t> half = to_half({1.0f, -2.5f, 65504.0f});
  EXPECT_EQ(half_to_float(half[0]), 1.0f);
  EXPECT_EQ(half_to_float(half[1]), -2.5f);
  EXPECT_EQ(half_to_float(half[2]), 65504.0f);
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
