// The cuda backend on a GPU: the miniature YOLOv8 (every op and pattern of the real one) against
// a CPU reference in fp32 and fp16 under every lowering option, broadcasting elementwise ops, two
// contexts on two threads, per-node profiling and the timing API. Skips without a GPU.
#ifdef DETSTREAM_WITH_CUDA
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "graph_fixtures.h"
#include "inference/cuda/kernels.h"
#include "inference/cuda/lowering.h"
#include "lowered_interpreter.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/cuda_test_support.h"

namespace detstream::inference {
namespace {

double rel_l2(const Tensor& a, const Tensor& b) {
  return detstream::testing::relative_l2(a.data<float>(), b.data<float>(), static_cast<std::size_t>(b.count()));
}

// The reference backend's result, or the CPU interpreter of the plain fp32 lowering while the
// reference lacks a kernel (an independent CPU implementation either way).
Tensor cpu_expected(const Graph& g, const std::vector<Tensor>& inputs) {
  if (auto reference = testing::run_reference(g, inputs)) return (*reference)[0];
  cuda::LoweringOptions plain;
  plain.feature_nhwc = false;
  plain.concat_in_place = false;
  const cuda::LoweredGraph program = cuda::lower_graph(g, Precision::kFp32, plain);
  return testing::LoweredInterpreter(g, program).run(inputs)[0];
}

using testing::ScopedEnv;

// Runs a one-input graph in fp16 on the cuda backend into `got` (shaped like the output) and, when
// given, a second time into `again`; the context's description must contain `kernel` (e.g.
// "1 halo-tile": the layer ran on the kernel under test).
void run_fp16(const Graph& g, const Tensor& input, const std::string& kernel, const std::string& where, Tensor& got,
              Tensor* again = nullptr) {
  const Plan plan = testing::plan_for(cuda_backend(), g, Precision::kFp16);
  auto engine = cuda_backend().prepare(plan, 0);
  auto context = engine->create_context();
  EXPECT_NE(cuda::describe_context(*context).find(kernel), std::string::npos) << where << ": " << cuda::describe_context(*context);
  const ConstTensorView in_view = input.view();
  const TensorView out_view = got.view();
  ASSERT_TRUE(context->execute({&in_view, 1}, {&out_view, 1}));
  if (!again) return;
  const TensorView again_view = again->view();
  ASSERT_TRUE(context->execute({&in_view, 1}, {&again_view, 1}));
}

TEST(CudaGpu, MiniYoloMatchesTheCpuInFp32AndFp16UnderEveryLoweringOption) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  for (std::int64_t width : {1, 8})
    for (std::int64_t batch : {1, 3}) {
      const Graph g = testing::mini_yolo(batch, width);
      const std::vector<Tensor> inputs{testing::random_tensor({batch, 3, 12, 10}, 11, 0.0f, 1.0f)};
      const Tensor expected = cpu_expected(g, inputs);
      const std::vector<std::pair<const char*, const char*>> variants{
          {"DETSTREAM_CUDA_DEFAULTS", "1"}, {"DETSTREAM_CUDA_STRIDED_CONV", "0"}, {"DETSTREAM_CUDA_LAYOUT", "nchw"},
          {"DETSTREAM_CUDA_CONCAT_IN_PLACE", "0"}, {"DETSTREAM_CUDA_GRAPH", "0"}, {"DETSTREAM_CUDA_CONV", "cudnn"},
          {"DETSTREAM_CUDA_CONV", "igemm"}, {"DETSTREAM_CUDA_CONV", "halo"}, {"DETSTREAM_CUDA_CONV", "pointwise"}, {"DETSTREAM_CUDA_SPLIT_K", "3"}, {"DETSTREAM_CUDA_FUSE_ADD", "0"},
          {"DETSTREAM_CUDA_DIRECT_CONV", "0"}, {"DETSTREAM_CUDA_PRIORITY", "0"}, {"DETSTREAM_CUDA_GRAPH_TACTICS", "0"},
          {"DETSTREAM_CUDA_SPLIT_K_REDUCE", "global"}, {"DETSTREAM_CUDA_FUSE_UPSAMPLE", "0"}};
      for (const auto& [name, value] : variants) {
        const ScopedEnv env(name, value);
        const std::string where = std::string(name) + "=" + value + " width " + std::to_string(width) + " batch " + std::to_string(batch);
        EXPECT_LT(rel_l2(testing::run_cuda(g, Precision::kFp32, inputs)[0], expected), 1e-5) << where;
        EXPECT_LT(rel_l2(testing::run_cuda(g, Precision::kFp16, inputs)[0], expected), 5e-3) << where;
      }
    }
}

// The implicit-GEMM kernel on geometries yolov8n does not have: dilation, padding 0 and 2,
// stride 3, a 5x5 kernel, 7 x 5 and 1 x 1 images, several output tiles, ReLU and sigmoid, K = 2
// and 6; with every tile (DETSTREAM_CUDA_TILE: any of them can win the timing on some layer), each
// with the split chosen by timing and with the depth split 3 and 8 ways (summed in the cluster)
// and 16 ways (through global memory).
TEST(CudaGpu, ImplicitGemmConvolutionMatchesTheReferenceOnOddGeometries) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const ScopedEnv env("DETSTREAM_CUDA_CONV", "igemm");
  for (int tile = 0; tile < cuda::kConvTileCount; ++tile) {
  const ScopedEnv tile_env("DETSTREAM_CUDA_TILE", cuda::conv_tile_name(tile));
  for (const char* split : {"0", "3", "8", "16"}) {
  const ScopedEnv split_env("DETSTREAM_CUDA_SPLIT_K", split);
  struct Case {
    std::int64_t n, c, h, w, k, kernel, stride, pad, dilation;
    const char* activation;
  };
  const std::vector<Case> cases{{2, 16, 13, 11, 24, 3, 2, 1, 1, "silu"}, {1, 8, 7, 5, 8, 3, 1, 2, 2, "relu"},
                                {3, 32, 9, 9, 136, 1, 1, 0, 1, ""},      {1, 24, 17, 15, 16, 5, 3, 2, 1, "sigmoid"},
                                {5, 64, 1, 1, 72, 1, 1, 0, 1, "silu"},   {1, 16, 9, 7, 2, 1, 1, 0, 1, ""},
                                {2, 8, 6, 6, 6, 3, 1, 1, 1, "silu"}};  // K = 2, 6: channel-pair epilogue
  for (const Case& k : cases) {
    testing::TestGraph t;
    const int x = t.input("x", {k.n, k.c, k.h, k.w});
    const std::int64_t eff = (k.kernel - 1) * k.dilation + 1;
    const Shape out{k.n, k.k, (k.h + 2 * k.pad - eff) / k.stride + 1, (k.w + 2 * k.pad - eff) / k.stride + 1};
    Attributes a{{"kernel_shape", Attribute::of_ints({k.kernel, k.kernel})},
                 {"strides", Attribute::of_ints({k.stride, k.stride})},
                 {"pads", Attribute::of_ints({k.pad, k.pad, k.pad, k.pad})},
                 {"dilations", Attribute::of_ints({k.dilation, k.dilation})}};
    if (*k.activation) a["activation"] = Attribute::of_string(k.activation);
    t.output(t.op("Conv", {x, t.random("w", {k.k, k.c, k.kernel, k.kernel}, 0.3f), t.random("b", {k.k})}, out, a));
    const std::vector<Tensor> inputs{testing::random_tensor({k.n, k.c, k.h, k.w}, 4)};
    const auto expected = testing::run_reference(t.graph, inputs);
    ASSERT_TRUE(expected.has_value());
    const std::string where = "n " + std::to_string(k.n) + " c " + std::to_string(k.c) + " k " + std::to_string(k.k) +
                              " kernel " + std::to_string(k.kernel) + " split-K " + split + " tile " + cuda::conv_tile_name(tile);
    // Replays reuse the split-K counters: a second run must give the same numbers.
    Tensor got(DataType::kFloat32, out), again(DataType::kFloat32, out);
    ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 implicit-GEMM", where, got, &again));
    EXPECT_LT(rel_l2(got, (*expected)[0]), 2e-3) << where;
    EXPECT_EQ(std::memcmp(again.data<float>(), got.data<float>(), static_cast<std::size_t>(got.count()) * sizeof(float)), 0);
  }
  }
  }
}

// Split-K summed in the cluster's shared memory and through global memory (the default and
// DETSTREAM_CUDA_SPLIT_K_REDUCE=global) adds the same partials in the same order: bit for bit the
// same output, for 2 to 8 slices (the cluster's limit) on a 20x20 layer with a residual; the
// CTAs of a cluster share the epilogue out among their warps.
TEST(CudaGpu, SplitKSumsInTheClusterAsInGlobalMemory) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const ScopedEnv env("DETSTREAM_CUDA_CONV", "igemm");
  const ScopedEnv tile_env("DETSTREAM_CUDA_TILE", "32x32x64");
  testing::TestGraph t;
  const Shape shape{1, 256, 20, 20};  // depth 2304: 36 k-tiles of 64, whole slices for 2, 3, 4 and 8
  const int x = t.input("x", shape);
  Attributes a{{"kernel_shape", Attribute::of_ints({3, 3})}, {"pads", Attribute::of_ints({1, 1, 1, 1})},
               {"activation", Attribute::of_string("silu")}};
  const int conv = t.op("Conv", {x, t.random("w", {256, 256, 3, 3}, 0.05f), t.random("b", {256})}, shape, a);
  t.output(t.op("Add", {conv, x}, shape));
  const std::vector<Tensor> inputs{testing::random_tensor(shape, 9)};
  const auto expected = testing::run_reference(t.graph, inputs);
  ASSERT_TRUE(expected.has_value());
  for (const char* split : {"2", "3", "4", "8"}) {
    const ScopedEnv split_env("DETSTREAM_CUDA_SPLIT_K", split);
    Tensor cluster(DataType::kFloat32, shape), global(DataType::kFloat32, shape);
    ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 implicit-GEMM kernel (1 split-K)", split, cluster));
    {
      const ScopedEnv reduce_env("DETSTREAM_CUDA_SPLIT_K_REDUCE", "global");
      ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 implicit-GEMM kernel (1 split-K)", split, global));
    }
    EXPECT_LT(rel_l2(cluster, (*expected)[0]), 2e-3) << split;
    EXPECT_EQ(std::memcmp(cluster.data<float>(), global.data<float>(), static_cast<std::size_t>(cluster.count()) * sizeof(float)), 0)
        << split << " slices";
  }
}

// Every halo-tile variant (DETSTREAM_CUDA_HALO) on 3x3 layers of its stride: images smaller than,
// equal to and not a multiple of its output patch (1x1, 7x5, 13x11, 16x8, 20x20), several images,
// channel chunks 1 to 4, K below, equal to and not a multiple of its channel tile (2, 16, 24, 72),
// every activation, and a residual (y = silu(conv) + x, fused into the epilogue). The streaming
// variants take one chunk (16, 32 or 64 channels); the 4 x 160 x 160 and 4 x 80 x 80 cases give
// their CTAs several patches each (more patches than an H200 holds CTAs).
TEST(CudaGpu, HaloTileConvolutionMatchesTheReference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const ScopedEnv env("DETSTREAM_CUDA_CONV", "halo");
  struct Case {
    std::int64_t n, c, h, w, k;
    const char* activation;
    bool residual, stream_only;
  };
  const std::vector<Case> cases{{2, 16, 13, 11, 24, "silu", false, false}, {1, 32, 7, 5, 72, "relu", false, false},
                                {3, 64, 1, 1, 16, "", false, false},        {1, 48, 16, 8, 2, "sigmoid", false, false},
                                {2, 16, 20, 20, 16, "silu", true, false},   {1, 64, 20, 20, 64, "silu", true, false},
                                {4, 16, 160, 160, 16, "silu", true, true},  {4, 16, 160, 160, 32, "silu", false, true},
                                {4, 32, 80, 80, 32, "silu", true, true},    {4, 64, 80, 80, 40, "silu", false, true}};
  for (int variant = 0; variant < cuda::kConvHaloCount; ++variant) {
    const std::string name = cuda::conv_halo_name(variant);
    const ScopedEnv variant_env("DETSTREAM_CUDA_HALO", name.c_str());
    const std::int64_t stride = name.find("s2") != std::string::npos ? 2 : 1;
    const bool stream = name.find("stream") != std::string::npos;
    const std::int64_t chunk = name.find("c64") != std::string::npos ? 64 : name.find("c32") != std::string::npos ? 32 : 16;
    for (const Case& k : cases) {
      if ((k.residual && stride != 1) || (stream && k.c != chunk) || (k.stream_only && !stream)) continue;
      testing::TestGraph t;
      const int x = t.input("x", {k.n, k.c, k.h, k.w});
      Attributes a{{"kernel_shape", Attribute::of_ints({3, 3})}, {"strides", Attribute::of_ints({stride, stride})},
                   {"pads", Attribute::of_ints({1, 1, 1, 1})}};
      if (*k.activation) a["activation"] = Attribute::of_string(k.activation);
      const std::int64_t k_out = k.residual ? k.c : k.k;
      const Shape conv_out{k.n, k_out, (k.h - 1) / stride + 1, (k.w - 1) / stride + 1};
      int y = t.op("Conv", {x, t.random("w", {k_out, k.c, 3, 3}, 0.3f), t.random("b", {k_out})}, conv_out, a);
      if (k.residual) y = t.op("Add", {y, x}, conv_out);
      t.output(y);
      const std::vector<Tensor> inputs{testing::random_tensor({k.n, k.c, k.h, k.w}, 4)};
      const auto expected = testing::run_reference(t.graph, inputs);
      ASSERT_TRUE(expected.has_value());
      const std::string where = name + " n " + std::to_string(k.n) + " c " +
                                std::to_string(k.c) + " " + std::to_string(k.h) + "x" + std::to_string(k.w) + " k " +
                                std::to_string(k_out) + (k.residual ? " residual" : "");
      Tensor got(DataType::kFloat32, conv_out);
      ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 halo-tile", where, got));
      EXPECT_LT(rel_l2(got, (*expected)[0]), 2e-3) << where;
    }
  }
}

// Every pointwise variant (DETSTREAM_CUDA_POINTWISE) on 1x1 layers: depths 16 to 128, pixel
// counts below, equal to and not a multiple of its 128-pixel tile, K below, equal to and not a
// multiple of its channel tile (2, 24, 64, 72, 96), every activation, a residual, and 4 x 160 x 160
// (more tiles than an H200 holds CTAs, so each CTA streams several).
TEST(CudaGpu, PointwiseConvolutionMatchesTheReference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const ScopedEnv env("DETSTREAM_CUDA_CONV", "pointwise");
  struct Case {
    std::int64_t n, c, h, w, k;
    const char* activation;
    bool residual;
  };
  const std::vector<Case> cases{{2, 16, 13, 11, 24, "silu", false}, {1, 48, 7, 5, 2, "", false},     {3, 128, 9, 9, 72, "relu", false},
                                {1, 64, 16, 8, 64, "silu", true},   {2, 96, 40, 40, 96, "sigmoid", false},
                                {4, 32, 160, 160, 32, "silu", true}};
  for (int variant = 0; variant < cuda::kConvPointwiseCount; ++variant) {
    const std::string name = cuda::conv_pointwise_name(variant);
    const ScopedEnv variant_env("DETSTREAM_CUDA_POINTWISE", name.c_str());
    for (const Case& k : cases) {
      testing::TestGraph t;
      const int x = t.input("x", {k.n, k.c, k.h, k.w});
      Attributes a{{"kernel_shape", Attribute::of_ints({1, 1})}, {"strides", Attribute::of_ints({1, 1})}, {"pads", Attribute::of_ints({0, 0, 0, 0})}};
      if (*k.activation) a["activation"] = Attribute::of_string(k.activation);
      const std::int64_t k_out = k.residual ? k.c : k.k;
      const Shape out{k.n, k_out, k.h, k.w};
      int y = t.op("Conv", {x, t.random("w", {k_out, k.c, 1, 1}, 0.3f), t.random("b", {k_out})}, out, a);
      if (k.residual) y = t.op("Add", {y, x}, out);
      t.output(y);
      const std::vector<Tensor> inputs{testing::random_tensor({k.n, k.c, k.h, k.w}, 4)};
      const auto expected = testing::run_reference(t.graph, inputs);
      ASSERT_TRUE(expected.has_value());
      const std::string where = name + " n " + std::to_string(k.n) + " c " + std::to_string(k.c) + " " + std::to_string(k.h) + "x" +
                                std::to_string(k.w) + " k " + std::to_string(k_out) + (k.residual ? " residual" : "");
      Tensor got(DataType::kFloat32, out);
      ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 pointwise", where, got));
      EXPECT_LT(rel_l2(got, (*expected)[0]), 2e-3) << where;
    }
  }
}

// Every direct-conv variant (DETSTREAM_CUDA_DIRECT) on stem convolutions (3 input channels, 3x3)
// reading the fp32 NCHW input in place: the multi-pixel variants where their geometry holds
// (stride 2, output width a multiple of their pixel count; odd heights read past the last row),
// 8 and 16 output channels per thread (K = 24 and 32), the one-pixel kernel everywhere (odd
// widths, stride 1), the tensor-core kernel for K 16 and 32 with widths a multiple of 4, with
// more tiles than its persistent grid (8 x 320 x 320).
TEST(CudaGpu, StemConvolutionMatchesTheReference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  struct Case {
    std::int64_t n, h, w, k, stride;
  };
  const std::vector<Case> cases{{2, 18, 24, 16, 2}, {1, 17, 16, 32, 2}, {3, 8, 8, 24, 2}, {1, 10, 12, 16, 2},
                                {1, 10, 13, 16, 2}, {2, 9, 12, 16, 1}, {8, 320, 320, 16, 2}};
  for (int variant = 0; variant < cuda::kConvDirectCount; ++variant) {
    const std::string name = cuda::conv_direct_name(variant);
    const ScopedEnv variant_env("DETSTREAM_CUDA_DIRECT", name.c_str());
    const int pixels = name.find("4-pixel") != std::string::npos ? 4 : name.find("2-pixel") != std::string::npos ? 2 : 1;
    const bool mma = name.find("mma") != std::string::npos;
    for (const Case& k : cases) {
      testing::TestGraph t;
      const int x = t.input("x", {k.n, 3, k.h, k.w});
      const Shape out{k.n, k.k, (k.h - 1) / k.stride + 1, (k.w - 1) / k.stride + 1};
      const Attributes a{{"kernel_shape", Attribute::of_ints({3, 3})}, {"strides", Attribute::of_ints({k.stride, k.stride})},
                         {"pads", Attribute::of_ints({1, 1, 1, 1})}, {"activation", Attribute::of_string("silu")}};
      t.output(t.op("Conv", {x, t.random("w", {k.k, 3, 3, 3}, 0.5f), t.random("b", {k.k})}, out, a));
      cuda::ConvDirectParams geometry;
      geometry.x.dtype = cuda::kKernelF32;
      geometry.x.strides[0] = 3 * k.h * k.w, geometry.x.strides[1] = k.h * k.w, geometry.x.strides[2] = k.w, geometry.x.strides[3] = 1;
      geometry.c = 3, geometry.h = static_cast<int>(k.h), geometry.w_in = static_cast<int>(k.w), geometry.r = 3, geometry.s = 3;
      geometry.k = static_cast<int>(k.k);
      geometry.stride_h = geometry.stride_w = static_cast<int>(k.stride), geometry.pad_h = geometry.pad_w = 1;
      geometry.out_h = static_cast<int>(out[2]), geometry.out_w = static_cast<int>(out[3]);
      const std::string where = name + ", n " + std::to_string(k.n) + " " + std::to_string(k.h) + "x" + std::to_string(k.w) +
                                " k " + std::to_string(k.k) + " stride " + std::to_string(k.stride);
      const bool applies = mma ? k.stride == 2 && k.w % 4 == 0 && (k.k == 16 || k.k == 32)
                               : pixels == 1 || (k.stride == 2 && out[3] % pixels == 0 && 2 * out[3] <= k.w);
      ASSERT_EQ(cuda::conv_direct_variant_supported(geometry, variant), applies) << where;
      if (!applies) continue;
      const std::vector<Tensor> inputs{testing::random_tensor({k.n, 3, k.h, k.w}, 5, 0.0f, 1.0f)};
      const auto expected = testing::run_reference(t.graph, inputs);
      ASSERT_TRUE(expected.has_value());
      Tensor got(DataType::kFloat32, out);
      ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 direct", where, got));
      EXPECT_LT(rel_l2(got, (*expected)[0]), 2e-3) << where;
    }
  }
}

// The fused stem pair (conv_stem_pair.cu) against the CPU reference and against the two layers
// run apart: odd output sizes (patches cut by the map's edge, stem pixels outside the map), an
// input height that is not even, and more patches than the persistent grid (8 x 320 x 320).
TEST(CudaGpu, StemPairMatchesTheReferenceAndTheLayersRunApart) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  struct Case {
    std::int64_t n, h, w;
  };
  for (const Case& k : std::vector<Case>{{1, 64, 64}, {2, 37, 52}, {1, 20, 100}, {8, 320, 320}}) {
    testing::TestGraph t;
    const int x = t.input("x", {k.n, 3, k.h, k.w});
    const int next = t.conv(t.conv(x, 16, 3, 2, true), 32, 3, 2, true);
    t.output(next);
    const Shape out = t.graph.value(next).shape;
    const std::string where = "n " + std::to_string(k.n) + " " + std::to_string(k.h) + "x" + std::to_string(k.w);
    const std::vector<Tensor> inputs{testing::random_tensor({k.n, 3, k.h, k.w}, 9, 0.0f, 1.0f)};
    const auto expected = testing::run_reference(t.graph, inputs);
    ASSERT_TRUE(expected.has_value());
    Tensor fused(DataType::kFloat32, out), apart(DataType::kFloat32, out);
    ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "2 in 1 fused stem pair", where, fused));
    EXPECT_LT(rel_l2(fused, (*expected)[0]), 2e-3) << where;
    {
      const ScopedEnv off("DETSTREAM_CUDA_FUSE_STEM", "0");
      ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "0 in 0 fused stem pairs", where, apart));
    }
    EXPECT_LT(rel_l2(fused, apart), 1e-3) << where << ": the same fp16 stem map, multiplied in another order";
  }
}

// A convolution that also writes its nearest 2x upsampling into a concatenation's slot (an FPN's
// "Resize, Concat"), on each kernel that can: the implicit GEMM unsplit, split in the cluster and
// through global memory, and the pointwise kernel; the same bits as with the Resize run apart, and
// the convolution's own output (a second graph output) intact.
TEST(CudaGpu, UpsamplingInTheConvolutionEpilogueMatchesTheResizeApart) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  struct Case {
    const char *conv, *tile, *split, *reduce;
    std::int64_t kernel;
  };
  const std::vector<Case> cases{{"igemm", "32x32x64", "1", "cluster", 3}, {"igemm", "64x32x64", "3", "cluster", 3},
                                {"igemm", "32x32", "4", "global", 3}, {"pointwise", "", "", "cluster", 1}};
  for (const Case& k : cases) {
    const ScopedEnv conv_env("DETSTREAM_CUDA_CONV", k.conv), tile_env("DETSTREAM_CUDA_TILE", *k.tile ? k.tile : nullptr);
    const ScopedEnv split_env("DETSTREAM_CUDA_SPLIT_K", *k.split ? k.split : nullptr), reduce_env("DETSTREAM_CUDA_SPLIT_K_REDUCE", k.reduce);
    testing::TestGraph t;
    const int x = t.input("x", {2, 64, 9, 7});
    const int low = t.conv(x, 48, k.kernel, 1, true);
    const int scales = t.constant("scales", Tensor::from_float({1, 1, 2, 2}, {4}));
    const int up = t.op("Resize", {low, kNoValue, scales}, {2, 48, 18, 14},
                        {{"mode", Attribute::of_string("nearest")}, {"coordinate_transformation_mode", Attribute::of_string("asymmetric")},
                         {"nearest_mode", Attribute::of_string("floor")}});
    const int lateral = t.input("lateral", {2, 16, 18, 14});
    t.output(t.op("Concat", {up, lateral}, {2, 64, 18, 14}, {{"axis", Attribute::of_int(1)}}));
    t.output(low);
    const std::vector<Tensor> inputs{testing::random_tensor({2, 64, 9, 7}, 12), testing::random_tensor({2, 16, 18, 14}, 13)};
    const std::string where = std::string(k.conv) + " " + k.tile + " split " + k.split + " " + k.reduce;
    const std::vector<Tensor> fused = testing::run_cuda(t.graph, Precision::kFp16, inputs);
    std::vector<Tensor> apart;
    {
      const ScopedEnv off("DETSTREAM_CUDA_FUSE_UPSAMPLE", "0");
      apart = testing::run_cuda(t.graph, Precision::kFp16, inputs);
    }
    const auto expected = testing::run_reference(t.graph, inputs);
    ASSERT_TRUE(expected.has_value());
    for (std::size_t o = 0; o < 2; ++o) {
      EXPECT_EQ(rel_l2(fused[o], apart[o]), 0.0) << where << ", output " << o;
      EXPECT_LT(rel_l2(fused[o], (*expected)[o]), 2e-3) << where << ", output " << o;
    }
    const Plan plan = testing::plan_for(cuda_backend(), t.graph, Precision::kFp16);
    const auto engine = cuda_backend().prepare(plan, 0);  // outlives its context
    const auto context = engine->create_context();
    EXPECT_NE(cuda::describe_context(*context).find("1 upsampling in a conv epilogue"), std::string::npos) << where;
  }
}

// The 16-byte MaxPool kernel with its unrolled 5x5 and 3x3 windows and a runtime window.
TEST(CudaGpu, MaxPoolWindowsMatchTheReference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  struct Case {
    std::int64_t kernel, stride, pad;
  };
  for (const Case& k : std::vector<Case>{{5, 1, 2}, {3, 1, 1}, {3, 2, 1}, {2, 2, 0}}) {
    testing::TestGraph t;
    const int x = t.input("x", {2, 16, 9, 7});
    const Shape out{2, 16, (9 + 2 * k.pad - k.kernel) / k.stride + 1, (7 + 2 * k.pad - k.kernel) / k.stride + 1};
    Attributes a{{"kernel_shape", Attribute::of_ints({k.kernel, k.kernel})}, {"strides", Attribute::of_ints({k.stride, k.stride})},
                 {"pads", Attribute::of_ints({k.pad, k.pad, k.pad, k.pad})}};
    // A convolution in front makes the pool's input an NHWC fp16 feature map, as in SPPF.
    const int c = t.conv(x, 16, 1, 1, true);
    t.output(t.op("MaxPool", {c}, out, a));
    const std::vector<Tensor> inputs{testing::random_tensor({2, 16, 9, 7}, 7)};
    const auto expected = testing::run_reference(t.graph, inputs);
    ASSERT_TRUE(expected.has_value());
    const std::vector<Tensor> got = testing::run_cuda(t.graph, Precision::kFp16, inputs);
    EXPECT_LT(rel_l2(got[0], (*expected)[0]), 2e-3) << "kernel " << k.kernel << " stride " << k.stride;
  }
}

// SPPF's chained pools in one kernel: three 5x5 and two 3x3 pools on maps smaller than, equal
// to and not a multiple of the kernel's 10x10 output tile, 8 to 24 channels, written into one
// concatenation (channel slices: strided outputs), against the reference's pool-by-pool result.
TEST(CudaGpu, MaxPoolChainMatchesTheReference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  struct Case {
    std::int64_t n, c, h, w, kernel, pools;
  };
  for (const Case& k : std::vector<Case>{{2, 16, 20, 20, 5, 3}, {1, 24, 13, 7, 5, 3}, {1, 8, 1, 1, 5, 3}, {3, 16, 25, 31, 3, 2}}) {
    testing::TestGraph t;
    const int x = t.input("x", {k.n, k.c, k.h, k.w});
    const Shape same{k.n, k.c, k.h, k.w};
    const Attributes a{{"kernel_shape", Attribute::of_ints({k.kernel, k.kernel})}, {"strides", Attribute::of_ints({1, 1})},
                       {"pads", Attribute::of_ints({k.kernel / 2, k.kernel / 2, k.kernel / 2, k.kernel / 2})}};
    std::vector<int> cat{t.conv(x, k.c, 1, 1, true)};  // an NHWC fp16 feature map, as in SPPF
    for (std::int64_t i = 0; i < k.pools; ++i) cat.push_back(t.op("MaxPool", {cat.back()}, same, a));
    t.output(t.op("Concat", cat, {k.n, k.c * (k.pools + 1), k.h, k.w}, {{"axis", Attribute::of_int(1)}}));
    const std::vector<Tensor> inputs{testing::random_tensor({k.n, k.c, k.h, k.w}, 8)};
    const auto expected = testing::run_reference(t.graph, inputs);
    ASSERT_TRUE(expected.has_value());
    const std::string where = std::to_string(k.pools) + " pools of " + std::to_string(k.kernel) + "x" + std::to_string(k.kernel) +
                              " on " + std::to_string(k.n) + "x" + std::to_string(k.c) + "x" + std::to_string(k.h) + "x" +
                              std::to_string(k.w);
    Tensor got(DataType::kFloat32, (*expected)[0].shape());
    ASSERT_NO_FATAL_FAILURE(run_fp16(t.graph, inputs[0], "1 pool chain in one kernel", where, got));
    EXPECT_LT(rel_l2(got, (*expected)[0]), 2e-3) << where;
  }
}

TEST(CudaGpu, BroadcastingElementwiseOpsMatchTheReference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  testing::TestGraph t;
  const int x = t.input("x", {2, 3, 5, 7});
  const int y = t.input("y", {5, 7});
  const int biased = t.op("Add", {x, t.random("bias", {1, 3, 1, 1})}, {2, 3, 5, 7});
  const int relu = t.op("Relu", {biased}, {2, 3, 5, 7});
  t.output(t.op("Mul", {relu, t.random("row", {7})}, {2, 3, 5, 7}));
  t.output(t.op("Div", {t.op("Sub", {x, y}, {2, 3, 5, 7}), t.constant("k", Tensor::from_float({4.0f}, {1}))}, {2, 3, 5, 7}));
  t.output(t.op("Identity", {x}, {2, 3, 5, 7}));
  const std::vector<Tensor> inputs{testing::random_tensor({2, 3, 5, 7}, 1), testing::random_tensor({5, 7}, 2)};
  const auto expected = testing::run_reference(t.graph, inputs);
  ASSERT_TRUE(expected.has_value());
  for (Precision p : {Precision::kFp32, Precision::kFp16}) {
    const std::vector<Tensor> got = testing::run_cuda(t.graph, p, inputs);
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t o = 0; o < 3; ++o) {
      EXPECT_LT(rel_l2(got[o], (*expected)[o]), p == Precision::kFp32 ? 1e-6 : 2e-3) << "output " << o;
    }
  }
}

TEST(CudaGpu, TwoContextsOnTwoThreadsGiveIdenticalResults) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const Graph g = testing::mini_yolo(2);
  auto engine = Engine::create(testing::plan_for(cuda_backend(), g, Precision::kFp16));
  const std::vector<Tensor> inputs{testing::random_tensor({2, 3, 12, 10}, 5, 0.0f, 1.0f)};
  const Tensor once = engine->create_context()->run(inputs)[0];
  std::vector<Tensor> results(2);
  std::vector<std::thread> threads;
  for (int k = 0; k < 2; ++k) {
    threads.emplace_back([&, k] {
      auto context = engine->create_context();
      for (int i = 0; i < 50; ++i) results[static_cast<std::size_t>(k)] = context->run(inputs)[0];
    });
  }
  for (auto& t : threads) t.join();
  for (const Tensor& r : results) {
    ASSERT_EQ(r.count(), once.count());
    EXPECT_EQ(std::memcmp(r.raw(), once.raw(), once.byte_size()), 0) << "a context on another stream differs";
  }
}

TEST(CudaGpu, ProfilingTimesEveryConvolution) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const Graph g = testing::mini_yolo(1);
  auto engine = Engine::create(testing::plan_for(cuda_backend(), g, Precision::kFp16));
  EXPECT_GT(engine->context_memory_bytes(), 0u);
  auto context = engine->create_context();
  context->enable_profiling(true);
  context->run({testing::random_tensor({1, 3, 12, 10}, 9)});
  const auto times = context->last_node_times_ms();
  ASSERT_EQ(times.size(), engine->plan().graph.nodes.size());
  for (std::size_t n = 0; n < times.size(); ++n) {
    if (engine->plan().graph.nodes[n].op_type == "Conv") {
      EXPECT_GT(times[n], 0.0) << engine->plan().graph.nodes[n].name;
    }
  }
}

TEST(CudaGpu, TimingReplaysTheCapturedGraph) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const Graph g = testing::mini_yolo(1);
  const Plan plan = testing::plan_for(cuda_backend(), g, Precision::kFp16);
  auto engine = cuda_backend().prepare(plan, 0);
  auto context = engine->create_context();
  const cuda::EnqueueTiming timing = cuda::time_enqueue(*context, 3, 20);
  EXPECT_TRUE(timing.graph) << cuda::describe_context(*context);
  EXPECT_GT(timing.median_ms, 0.0);
  EXPECT_GE(timing.with_copies_median_ms, timing.min_ms);
  EXPECT_NE(cuda::describe_context(*context).find("arena"), std::string::npos);
}

}  // namespace
}  // namespace detstream::inference
#endif  // DETSTREAM_WITH_CUDA
