// The fused detection-head kernel on a GPU (detect_head.h): the miniature head (odd sizes, batch
// 3, more than one group of classes, YOLO11's DFL chain, NCHW maps) against the CPU, and the
// shared models, fused and per node, against ONNX Runtime's golden outputs. Skips without a GPU.
#ifdef DETSTREAM_WITH_CUDA
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "head_fixtures.h"
#include "inference/builder/builder.h"
#include "support/shared_data.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/cuda_test_support.h"

namespace detstream::inference {
namespace {

using testing::ScopedEnv;

struct GpuRun {
  Tensor output;
  std::string description;                  // describe_context
  std::map<int, std::string> conv_tactics;  // by graph node
};

// Prepares `plan` on the cuda backend (with the environment as it is now) and runs it once.
GpuRun run_on_gpu(const Plan& plan, const Tensor& input, const Shape& output_shape) {
  auto engine = cuda_backend().prepare(plan, 0);
  auto context = engine->create_context();
  GpuRun run{Tensor(DataType::kFloat32, output_shape), cuda::describe_context(*context), {}};
  const ConstTensorView in = input.view();
  const TensorView out = run.output.view();
  const Status status = context->execute({&in, 1}, {&out, 1});
  EXPECT_TRUE(status) << status.message();
  for (const cuda::LayerProfile& layer : cuda::profile_layers(*context, 1)) {
    if (layer.node >= 0 && !layer.tactic.empty()) run.conv_tactics[layer.node] = layer.tactic;
  }
  return run;
}

double rel_l2(const float* a, const float* b, std::size_t count) {
  return detstream::testing::relative_l2(a, b, count);
}
double rel_l2(const Tensor& a, const Tensor& b) {
  return rel_l2(a.data<float>(), b.data<float>(), static_cast<std::size_t>(b.count()));
}

bool fused(const GpuRun& run) { return run.description.find("detection head fused") != std::string::npos; }

TEST(CudaDetectHeadGpu, MiniHeadMatchesTheCpuInEveryLayoutAndPrecision) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const std::vector<testing::MiniHeadOptions> shapes{
      {1, 3, 16, false}, {3, 19, 16, false}, {2, 37, 16, true}, {1, 1, 7, false}};
  for (const testing::MiniHeadOptions& o : shapes) {
    const Graph g = testing::mini_head(o);
    const Tensor input = testing::random_tensor({o.batch, 3, 16, 20}, 7, 0.0f, 1.0f);
    const auto expected = testing::run_reference(g, {input});
    ASSERT_TRUE(expected.has_value());
    const Shape out_shape = g.value(g.outputs[0]).shape;
    for (const char* layout : {"nhwc", "nchw"})
      for (const char* fuse : {"1", "0"}) {
        const ScopedEnv layout_env("DETSTREAM_CUDA_LAYOUT", layout);
        const ScopedEnv fuse_env("DETSTREAM_CUDA_FUSE_HEAD", fuse);
        const std::string where = std::string("layout ") + layout + " fuse " + fuse + " batch " +
                                  std::to_string(o.batch) + " classes " + std::to_string(o.classes) + " bins " +
                                  std::to_string(o.bins) + (o.yolo11_dfl ? " yolo11" : "");
        const GpuRun fp32 = run_on_gpu(testing::plan_for(cuda_backend(), g, Precision::kFp32), input, out_shape);
        const GpuRun fp16 = run_on_gpu(testing::plan_for(cuda_backend(), g, Precision::kFp16), input, out_shape);
        EXPECT_EQ(fused(fp32), *fuse == '1') << where << ": " << fp32.description;
        EXPECT_EQ(fused(fp16), *fuse == '1') << where << ": " << fp16.description;
        EXPECT_LT(rel_l2(fp32.output, (*expected)[0]), 1e-5) << where;
        EXPECT_LT(rel_l2(fp16.output, (*expected)[0]), 5e-3) << where;
      }
  }
}

struct GoldenCase {
  const char* model;
  const char* input;   // one image, 1 x 3 x size x size
  const char* output;  // its (1, 4 + nc, anchors) output from ONNX Runtime
  int batch;           // the image repeated
};

class CudaDetectHeadModel : public ::testing::TestWithParam<GoldenCase> {};

// Fused and per-node engines share one timing cache, so their convolutions run the same tactics
// and the outputs differ only by the head's arithmetic (bounds 1e-5 fp32, 1e-4 fp16); should the
// tactics differ anyway, the fp16 bound is the golden one.
TEST_P(CudaDetectHeadModel, FusedHeadMatchesGoldenAndThePerNodeHead) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const GoldenCase c = GetParam();
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + c.model);
  DETSTREAM_REQUIRE_SHARED(input_path, std::string("golden/") + c.input);
  DETSTREAM_REQUIRE_SHARED(output_path, std::string("golden/") + c.output);
  const std::vector<float> image = detstream::testing::read_f32_file(input_path);
  const std::vector<float> golden = detstream::testing::read_f32_file(output_path);
  const auto size = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(image.size() / 3))));
  ASSERT_EQ(image.size(), static_cast<std::size_t>(3 * size * size));
  Tensor input(DataType::kFloat32, {c.batch, 3, size, size});
  for (int b = 0; b < c.batch; ++b)
    std::memcpy(input.data<float>() + b * image.size(), image.data(), image.size() * sizeof(float));
  for (Precision precision : {Precision::kFp32, Precision::kFp16}) {
    const std::string cache =
        (std::filesystem::temp_directory_path() / ("detstream_head_" + std::string(c.model) + ".cache")).string();
    std::filesystem::remove(cache);
    const ScopedEnv cache_env("DETSTREAM_CUDA_TIMING_CACHE", cache.c_str());
    BuildOptions options;
    options.backend = "cuda";
    options.precision = precision;
    options.batch = {c.batch, c.batch, c.batch};
    const Plan plan = build_plan_from_onnx(model, options);
    const Shape out_shape = plan.graph.value(plan.graph.outputs[0]).shape;
    ASSERT_EQ(static_cast<std::size_t>(element_count(out_shape)), golden.size() * static_cast<std::size_t>(c.batch));
    const GpuRun fused_run = run_on_gpu(plan, input, out_shape);
    const GpuRun per_node = [&] {
      const ScopedEnv off("DETSTREAM_CUDA_FUSE_HEAD", "0");
      return run_on_gpu(plan, input, out_shape);
    }();
    std::filesystem::remove(cache);
    EXPECT_TRUE(fused(fused_run)) << fused_run.description;
    EXPECT_FALSE(fused(per_node)) << per_node.description;
    double worst_fused = 0.0, worst_per_node = 0.0;
    for (int b = 0; b < c.batch; ++b) {
      const std::size_t at = static_cast<std::size_t>(b) * golden.size();
      worst_fused = std::max(worst_fused, rel_l2(fused_run.output.data<float>() + at, golden.data(), golden.size()));
      worst_per_node =
          std::max(worst_per_node, rel_l2(per_node.output.data<float>() + at, golden.data(), golden.size()));
    }
    const double between = rel_l2(fused_run.output, per_node.output);
    bool same_tactics = true;
    for (const auto& [node, tactic] : per_node.conv_tactics) {
      const auto it = fused_run.conv_tactics.find(node);
      same_tactics = same_tactics && (it == fused_run.conv_tactics.end() || it->second == tactic);
    }
    std::printf(
        "[ head ] %s %s batch %d: rel L2 vs golden fused %.3g, per node %.3g; fused vs per node %.3g (%s tactics)\n",
        c.model, std::string(to_string(precision)).c_str(), c.batch, worst_fused, worst_per_node, between,
        same_tactics ? "same" : "different");
    const bool fp32 = precision == Precision::kFp32;
    EXPECT_LE(worst_fused, fp32 ? 1e-5 : 2e-3);
    EXPECT_LE(between, fp32 ? 1e-5 : (same_tactics ? 1e-4 : 2e-3));
  }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, CudaDetectHeadModel,
                         ::testing::Values(GoldenCase{"yolov8n.onnx", "bus_640.input.f32", "bus_640.output.f32", 1},
                                           GoldenCase{"yolov8n.onnx", "zidane_640.input.f32", "zidane_640.output.f32",
                                                      1},
                                           GoldenCase{"yolov8n_4cls_320.onnx", "bus_yolov8n_4cls_320.input.f32",
                                                      "bus_yolov8n_4cls_320.output.f32", 1},
                                           GoldenCase{"yolov8n_dynamic_2cls.onnx", "bus_640.input.f32",
                                                      "bus_yolov8n_dynamic_2cls.output.f32", 3}),
                         [](const auto& info) {  // e.g. yolov8n_bus_batch1
                           const std::string model = info.param.model;
                           const std::string image = info.param.input;
                           return model.substr(0, model.find('.')) + "_" + image.substr(0, image.find('_')) + "_batch" +
                                  std::to_string(info.param.batch);
                         });

}  // namespace
}  // namespace detstream::inference
#endif  // DETSTREAM_WITH_CUDA
