// Which kernel variants apply to which layer, checked without a GPU (host-side predicates of
// kernels.h): the stem variants of the direct convolution, the streaming halo tiles and the pool
// chain. The build only times the variants these admit, so a wrong answer either runs a kernel
// outside its geometry or hides a faster one.
#ifdef DETSTREAM_WITH_CUDA
#include <gtest/gtest.h>

#include <string>

#include "inference/cuda/kernels.h"

namespace detstream::inference::cuda {
namespace {

// yolov8n's stem at batch n: 3 x 640 x 640 fp32 NCHW -> 16 x 320 x 320, 3x3, stride 2, padding 1.
ConvDirectParams stem(int n = 1, int h = 640, int w = 640, int k = 16) {
  ConvDirectParams p;
  p.x.dtype = kKernelF32;
  p.x.strides[0] = 3LL * h * w, p.x.strides[1] = 1LL * h * w, p.x.strides[2] = w, p.x.strides[3] = 1;
  p.n = n, p.c = 3, p.h = h, p.w_in = w, p.k = k, p.r = 3, p.s = 3;
  p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1;
  p.out_h = (h - 1) / 2 + 1, p.out_w = (w - 1) / 2 + 1;
  return p;
}

int variant_named(const std::string& name) {
  for (int v = 0; v < kConvDirectCount; ++v)
    if (name == conv_direct_name(v)) return v;
  ADD_FAILURE() << "no direct-conv variant named '" << name << "'";
  return -1;
}

TEST(CudaKernelApplicability, EveryDirectVariantTakesTheYoloStem) {
  for (int v = 0; v < kConvDirectCount; ++v) EXPECT_TRUE(conv_direct_variant_supported(stem(), v)) << conv_direct_name(v);
  EXPECT_FALSE(conv_direct_variant_supported(stem(), kConvDirectCount));
  EXPECT_FALSE(conv_direct_variant_supported(stem(), -1));
}

TEST(CudaKernelApplicability, StemVariantsRefuseWhatTheirLoadsCannotCover) {
  const int pixel = variant_named("direct"), two = variant_named("direct 2-pixel"), four = variant_named("direct 4-pixel");
  const int mma = variant_named("direct mma");
  // 13 wide: 7 output columns, an odd count; the rows do not load as float4 either.
  const ConvDirectParams odd = stem(1, 10, 13);
  EXPECT_TRUE(conv_direct_variant_supported(odd, pixel));
  EXPECT_FALSE(conv_direct_variant_supported(odd, two));
  EXPECT_FALSE(conv_direct_variant_supported(odd, mma));
  // 12 wide: 6 output columns, a multiple of 2 but not of 4.
  EXPECT_TRUE(conv_direct_variant_supported(stem(1, 10, 12), two));
  EXPECT_FALSE(conv_direct_variant_supported(stem(1, 10, 12), four));
  // Stride 1: only the one-pixel kernel.
  ConvDirectParams dense = stem();
  dense.stride_h = dense.stride_w = 1;
  dense.out_h = dense.h, dense.out_w = dense.w_in;
  EXPECT_TRUE(conv_direct_variant_supported(dense, pixel));
  for (int v : {two, four, mma}) EXPECT_FALSE(conv_direct_variant_supported(dense, v)) << conv_direct_name(v);
  // fp16 input, or columns not adjacent: no float4 rows.
  ConvDirectParams half_input = stem();
  half_input.x.dtype = kKernelF16;
  ConvDirectParams strided_columns = stem();
  strided_columns.x.strides[3] = 2;
  for (const ConvDirectParams& p : {half_input, strided_columns}) {
    EXPECT_TRUE(conv_direct_variant_supported(p, pixel));
    for (int v : {two, four, mma}) EXPECT_FALSE(conv_direct_variant_supported(p, v)) << conv_direct_name(v);
  }
  // The tensor-core stem holds K = 16 or 32 in its fragments.
  EXPECT_TRUE(conv_direct_variant_supported(stem(1, 640, 640, 32), mma));
  EXPECT_FALSE(conv_direct_variant_supported(stem(1, 640, 640, 24), mma));
  EXPECT_TRUE(conv_direct_variant_supported(stem(1, 640, 640, 24), two));
}

ConvIgemmParams conv3x3(int c, int k, int stride) {
  ConvIgemmParams p;
  p.n = 2, p.c = c, p.h = 160, p.w_in = 160, p.k = k, p.r = 3, p.s = 3;
  p.stride_h = p.stride_w = stride, p.pad_h = p.pad_w = 1;
  p.out_h = p.out_w = (160 - 1) / stride + 1;
  return p;
}

TEST(CudaKernelApplicability, StreamingHaloTilesTakeSingleChunkLayersOnly) {
  for (int v = 0; v < kConvHaloCount; ++v) {
    const std::string name = conv_halo_name(v);
    const int stride = name.find("s2") != std::string::npos ? 2 : 1;
    const bool stream = name.find("stream") != std::string::npos;
    const int chunk = name.find("c64") != std::string::npos ? 64 : name.find("c32") != std::string::npos ? 32 : 16;
    EXPECT_TRUE(conv_halo_supported(conv3x3(chunk, 32, stride), v)) << name;
    EXPECT_EQ(conv_halo_supported(conv3x3(2 * chunk, 32, stride), v), !stream) << name << ": two chunks";
    EXPECT_FALSE(conv_halo_supported(conv3x3(chunk, 32, 3 - stride), v)) << name << ": the other stride";
    ConvIgemmParams residual = conv3x3(chunk, 32, stride);
    residual.has_residual = true;
    EXPECT_EQ(conv_halo_supported(residual, v), !stream) << name << ": a residual that cannot be copied in 16 bytes";
    residual.residual_vectors = true;
    EXPECT_TRUE(conv_halo_supported(residual, v)) << name;
  }
}

ConvIgemmParams conv1x1(int c, int k) {
  ConvIgemmParams p;
  p.n = 2, p.c = c, p.h = p.out_h = 80, p.w_in = p.out_w = 80, p.k = k;
  return p;
}

TEST(CudaKernelApplicability, PointwiseKernelTakesShallowStrideOneOneByOnes) {
  for (int v = 0; v < kConvPointwiseCount; ++v) {
    const std::string name = conv_pointwise_name(v);
    for (int c : {16, 48, 128}) EXPECT_TRUE(conv_pointwise_supported(conv1x1(c, 2), v)) << name << " c " << c;
    EXPECT_FALSE(conv_pointwise_supported(conv1x1(192, 64), v)) << name << ": deeper than 128";
    EXPECT_FALSE(conv_pointwise_supported(conv1x1(24, 64), v)) << name << ": not a multiple of 16";
    ConvIgemmParams strided = conv1x1(64, 64);
    strided.stride_h = strided.stride_w = 2, strided.out_h = strided.out_w = 40;
    EXPECT_FALSE(conv_pointwise_supported(strided, v)) << name << ": stride 2";
    EXPECT_FALSE(conv_pointwise_supported(conv3x3(64, 64, 1), v)) << name << ": 3x3";
    ConvIgemmParams split = conv1x1(64, 64);
    split.splits = 2;
    EXPECT_FALSE(conv_pointwise_supported(split, v)) << name << ": split-K";
  }
}

// A split of at most kMaxClusterSplits sums in its cluster and needs no scratch; a deeper split,
// or any split with the cluster reduction off, takes its fp32 partials' bytes.
TEST(CudaKernelApplicability, SplitKTakesScratchOnlyOutsideClusters) {
  ConvIgemmParams deep = conv3x3(256, 128, 1);  // depth 2304: 72 k-tiles of 32
  deep.n = 1, deep.h = deep.w_in = deep.out_h = deep.out_w = 20;
  const long long tiles = conv_igemm_output_tiles(deep, kTile32x32);
  EXPECT_EQ(conv_igemm_partials_bytes(deep, kTile32x32, 1), 0u);
  for (int splits : {2, 4, kMaxClusterSplits}) EXPECT_EQ(conv_igemm_partials_bytes(deep, kTile32x32, splits), 0u) << splits;
  EXPECT_EQ(conv_igemm_partials_bytes(deep, kTile32x32, 12), static_cast<std::size_t>(tiles) * 12 * 32 * 32 * sizeof(float));
  deep.cluster_reduce = false;
  EXPECT_EQ(conv_igemm_partials_bytes(deep, kTile32x32, 4), static_cast<std::size_t>(tiles) * 4 * 32 * 32 * sizeof(float));
}

TEST(CudaKernelApplicability, StemPairTakesYolov8sFirstTwoLayers) {
  const ConvDirectParams first = stem(32, 640, 640, 16);
  ConvIgemmParams second = conv3x3(16, 32, 2);
  second.n = 32, second.h = second.w_in = 320, second.out_h = second.out_w = 160;
  EXPECT_TRUE(conv_stem_pair_supported(first, second));
  ConvIgemmParams wide = second;
  wide.k = 64;
  EXPECT_FALSE(conv_stem_pair_supported(first, wide)) << "32 output channels only";
  EXPECT_FALSE(conv_stem_pair_supported(stem(32, 640, 640, 32), second)) << "a 16-channel stem only";
  ConvIgemmParams other_size = second;
  other_size.h = 322;
  EXPECT_FALSE(conv_stem_pair_supported(first, other_size)) << "the second layer reads the stem's map";
  ConvIgemmParams odd = second;
  odd.w_in = 321, odd.out_w = 161;
  EXPECT_FALSE(conv_stem_pair_supported(stem(32, 640, 642, 16), odd)) << "input width not a multiple of 4";
}

Window2d pool(int kernel, std::int64_t size = 20) {
  Window2d w;
  w.n = 1, w.c = 128, w.in_h = w.in_w = w.out_h = w.out_w = size;
  w.kernel_h = w.kernel_w = kernel, w.pad_h = w.pad_w = kernel / 2;
  w.vector8 = true;
  return w;
}

TEST(CudaKernelApplicability, PoolChainKernelTakesSppfAndRefusesOtherWindows) {
  EXPECT_TRUE(maxpool_chain_supported(pool(5), 3)) << "SPPF";
  EXPECT_TRUE(maxpool_chain_supported(pool(3), 2));
  EXPECT_TRUE(maxpool_chain_supported(pool(5, 1), 3)) << "a 1x1 map";
  EXPECT_FALSE(maxpool_chain_supported(pool(5), 4)) << "more pools than the shared tile's halo holds";
  EXPECT_FALSE(maxpool_chain_supported(pool(7), 2)) << "an unrolled window only for 3 and 5";
  Window2d strided = pool(5);
  strided.stride_h = strided.stride_w = 2;
  strided.out_h = strided.out_w = 10;
  EXPECT_FALSE(maxpool_chain_supported(strided, 3));
  Window2d scalar = pool(5);
  scalar.vector8 = false;
  EXPECT_FALSE(maxpool_chain_supported(scalar, 3)) << "16-byte channel vectors only";
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif
