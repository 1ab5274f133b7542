// yolov8n on the GPU against the golden ONNX Runtime output (../shared/golden/bus_640.*):
// fp32 (TF32 off) within rel L2 1e-4, fp16 within 2e-3, and a batch of 3 with every image correct.
// Skips without a GPU or without the shared data.
#ifdef DETSTREAM_WITH_CUDA
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "inference/builder/builder.h"
#include "inference/core/error.h"
#include "inference/cuda/dependent_launch.h"
#include "support/shared_data.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/cuda_test_support.h"

namespace detstream::inference {
namespace {

struct Golden {
  std::vector<float> input, output;
};

BuildOptions cuda_options(Precision precision, int batch = 1) {
  BuildOptions options;
  options.backend = "cuda";
  options.precision = precision;
  options.batch = {batch, batch, batch};
  return options;
}

// DETSTREAM_CUDA_TIMING_CACHE pointed at a fresh temporary file while in scope, so that engines
// built in the scope share their tactics.
class ScopedTimingCache {
 public:
  explicit ScopedTimingCache(const char* name) : path_((std::filesystem::temp_directory_path() / name).string()) {
    std::filesystem::remove(path_);
    ::setenv("DETSTREAM_CUDA_TIMING_CACHE", path_.c_str(), 1);
  }
  ~ScopedTimingCache() {
    ::unsetenv("DETSTREAM_CUDA_TIMING_CACHE");
    std::filesystem::remove(path_);
  }
  ScopedTimingCache(const ScopedTimingCache&) = delete;
  ScopedTimingCache& operator=(const ScopedTimingCache&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double run_and_compare(const std::string& model, const Golden& golden, Precision precision, int batch) {
  auto engine = Engine::create(build_plan_from_onnx(model, cuda_options(precision, batch)));
  Tensor input(DataType::kFloat32, {batch, 3, 640, 640});
  for (int b = 0; b < batch; ++b) {
    std::memcpy(input.data<float>() + b * golden.input.size(), golden.input.data(), golden.input.size() * sizeof(float));
  }
  const std::vector<Tensor> out = engine->create_context()->run({input});
  EXPECT_EQ(static_cast<std::size_t>(out[0].count()), golden.output.size() * static_cast<std::size_t>(batch));
  double worst = 0.0;
  for (int b = 0; b < batch; ++b) {
    worst = std::max(worst, detstream::testing::relative_l2(out[0].data<float>() + b * golden.output.size(),
                                                            golden.output.data(), golden.output.size()));
  }
  std::printf("[ cuda ] yolov8n %s batch %d: rel L2 %.3g\n", std::string(to_string(precision)).c_str(), batch, worst);
  return worst;
}

class CudaYolov8n : public ::testing::Test {
 protected:
  void load(const std::string& input_path, const std::string& output_path, std::size_t rows = 84) {
    golden_.input = detstream::testing::read_f32_file(input_path);
    golden_.output = detstream::testing::read_f32_file(output_path);
    ASSERT_EQ(golden_.input.size(), 3u * 640 * 640);
    ASSERT_EQ(golden_.output.size(), rows * 8400);
  }
  Golden golden_;
};

TEST_F(CudaYolov8n, Fp32MatchesGoldenWithTf32Off) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  DETSTREAM_REQUIRE_SHARED(in, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(out, "golden/bus_640.output.f32");
  load(in, out);
  EXPECT_LE(run_and_compare(model, golden_, Precision::kFp32, 1), 1e-4);
}

TEST_F(CudaYolov8n, Fp16MatchesGolden) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  DETSTREAM_REQUIRE_SHARED(in, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(out, "golden/bus_640.output.f32");
  load(in, out);
  EXPECT_LE(run_and_compare(model, golden_, Precision::kFp16, 1), 2e-3);
}

// --workspace: with 1 byte allowed no tactic may take scratch (no split-K partials in global
// memory, only cuDNN algorithms without workspace), and the output stays correct. With the
// split-K partials summed through global memory the limit makes a context smaller; summed in
// clusters (the default) they take no scratch to begin with.
TEST_F(CudaYolov8n, WorkspaceLimitKeepsTacticsOutOfScratchMemory) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  DETSTREAM_REQUIRE_SHARED(in, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(out, "golden/bus_640.output.f32");
  load(in, out);
  for (const char* reduce : {"global", "cluster"}) {
    const testing::ScopedEnv env("DETSTREAM_CUDA_SPLIT_K_REDUCE", reduce);
    BuildOptions options = cuda_options(Precision::kFp16);
    auto unlimited = Engine::create(build_plan_from_onnx(model, options));
    options.workspace_limit_bytes = 1;
    auto limited = Engine::create(build_plan_from_onnx(model, options));
    std::printf("[ cuda ] split-K summed in %s memory: context %zu bytes unlimited, %zu with a 1-byte workspace\n",
                reduce, unlimited->context_memory_bytes(), limited->context_memory_bytes());
    if (std::string(reduce) == "global") {
      EXPECT_LT(limited->context_memory_bytes(), unlimited->context_memory_bytes());
    } else {
      EXPECT_LE(limited->context_memory_bytes(), unlimited->context_memory_bytes());
    }
    Tensor input(DataType::kFloat32, {1, 3, 640, 640});
    std::memcpy(input.data<float>(), golden_.input.data(), golden_.input.size() * sizeof(float));
    const std::vector<Tensor> result = limited->create_context()->run({input});
    EXPECT_LE(detstream::testing::relative_l2(result[0].data<float>(), golden_.output.data(), golden_.output.size()), 2e-3) << reduce;
  }
}

// yolov8n.onnx has a fixed batch of 1; the dynamic export (2 classes) takes any batch.
TEST_F(CudaYolov8n, DynamicModelBatchOfThreeIsCorrectForEveryImage) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_dynamic_2cls.onnx");
  DETSTREAM_REQUIRE_SHARED(in, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(out, "golden/bus_yolov8n_dynamic_2cls.output.f32");
  load(in, out, 6);
  EXPECT_LE(run_and_compare(model, golden_, Precision::kFp16, 3), 2e-3);
  EXPECT_LE(run_and_compare(model, golden_, Precision::kFp32, 3), 1e-4);
}

// Programmatic dependent launch lets each kernel start before its predecessor finished; with the
// waits in the right place the results cannot change. One engine (so the same tactics), two
// contexts whose graphs are captured with the switch off and on: same kernels, same order, bit for
// bit. A missing wait shows up as a difference (a kernel reading a half-written map), on random
// input so that no stale buffer can pass for a right one.
TEST(CudaDependentLaunch, Yolov8nIsBitIdenticalWithAndWithoutProgrammaticLaunch) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  auto engine = Engine::create(build_plan_from_onnx(model, cuda_options(Precision::kFp16)));
  const Tensor input = testing::random_tensor({1, 3, 640, 640}, 17, 0.0f, 1.0f);
  auto run_with = [&](bool programmatic) {
    cuda::set_programmatic_launch_enabled(programmatic);
    auto context = engine->create_context();
    std::vector<Tensor> out = context->run({input});  // captures the graph with the switch as set now
    for (int replay = 0; replay < 3; ++replay) {
      const std::vector<Tensor> again = context->run({input});
      EXPECT_EQ(std::memcmp(again[0].data<float>(), out[0].data<float>(), out[0].count() * sizeof(float)), 0)
          << "replay " << replay << " differs (programmatic launch " << programmatic << ")";
    }
    return out;
  };
  const bool initial = cuda::programmatic_launch_enabled();
  const std::vector<Tensor> plain = run_with(false);
  const std::vector<Tensor> programmatic = run_with(true);
  cuda::set_programmatic_launch_enabled(initial);
  ASSERT_EQ(plain[0].count(), programmatic[0].count());
  EXPECT_EQ(std::memcmp(plain[0].data<float>(), programmatic[0].data<float>(), plain[0].count() * sizeof(float)), 0);
}

// A rebuild through DETSTREAM_CUDA_TIMING_CACHE adopts the recorded tactics instead of timing
// them: the second engine computes bit for bit what the first did (same tactics; timing alone
// can pick differently between builds) and builds faster.
TEST(CudaTimingCacheEngine, RebuildAdoptsTheRecordedTactics) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  const ScopedTimingCache cache("detstream_timing_cache_engine_test.txt");
  const Plan plan = build_plan_from_onnx(model, cuda_options(Precision::kFp16));
  const Tensor input = testing::random_tensor({1, 3, 640, 640}, 23, 0.0f, 1.0f);
  auto build_and_run = [&](double* seconds) {
    const auto start = std::chrono::steady_clock::now();
    auto engine = Engine::create(plan);
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return engine->create_context()->run({input});
  };
  double timed_s = 0.0, cached_s = 0.0;
  const std::vector<Tensor> timed = build_and_run(&timed_s);
  ASSERT_TRUE(std::filesystem::exists(cache.path())) << "the first build wrote no cache";
  const std::vector<Tensor> cached = build_and_run(&cached_s);
  std::printf("[ cuda ] engine build: %.2f s timing, %.2f s from the cache\n", timed_s, cached_s);
  ASSERT_EQ(timed[0].count(), cached[0].count());
  EXPECT_EQ(std::memcmp(timed[0].data<float>(), cached[0].data<float>(), timed[0].count() * sizeof(float)), 0);
  EXPECT_LT(cached_s, timed_s);
}

// enqueue() on the caller's stream, with the caller's own copies to device_input()/device_output()
// on that stream (no host synchronisation inside): the same bits as execute() on that context.
TEST(CudaEnqueue, CallerStreamOrdersItsCopiesAroundTheInference) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  auto engine = cuda_backend().prepare(build_plan_from_onnx(model, cuda_options(Precision::kFp16)), 0);
  auto context = engine->create_context();
  const Tensor input = testing::random_tensor({1, 3, 640, 640}, 31, 0.0f, 1.0f);
  Tensor expected(DataType::kFloat32, {1, 84, 8400});
  const ConstTensorView in_view = input.view();
  const TensorView expected_view = expected.view();
  ASSERT_TRUE(context->execute({&in_view, 1}, {&expected_view, 1}));

  cudaStream_t caller = nullptr;
  ASSERT_EQ(cudaStreamCreate(&caller), cudaSuccess);
  EXPECT_THROW(cuda::device_input(*context, 1), Error);
  for (int round = 0; round < 3; ++round) {
    Tensor got(DataType::kFloat32, {1, 84, 8400});
    const std::size_t in_bytes = static_cast<std::size_t>(input.count()) * sizeof(float);
    const std::size_t out_bytes = static_cast<std::size_t>(got.count()) * sizeof(float);
    ASSERT_EQ(cudaMemsetAsync(cuda::device_output(*context, 0), 0xFF, out_bytes, caller), cudaSuccess);  // NaN before
    ASSERT_EQ(cudaMemcpyAsync(cuda::device_input(*context, 0), input.data<float>(), in_bytes, cudaMemcpyHostToDevice, caller),
              cudaSuccess);
    cuda::enqueue(*context, caller);
    ASSERT_EQ(cudaMemcpyAsync(got.data<float>(), cuda::device_output(*context, 0), out_bytes, cudaMemcpyDeviceToHost, caller),
              cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(caller), cudaSuccess);
    EXPECT_EQ(std::memcmp(got.data<float>(), expected.data<float>(), out_bytes), 0) << "round " << round;
  }
  cudaStreamDestroy(caller);
}

// The graph captured over several streams (stream_schedule.h: branches side by side) computes bit
// for bit what one stream does, replay after replay (same tactics through a shared timing cache),
// with 4 streams and with the count chosen by timing at build.
TEST(CudaStreams, BranchedGraphIsBitIdenticalToOneStream) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  const ScopedTimingCache cache("detstream_streams_test_cache.txt");
  const Plan plan = build_plan_from_onnx(model, cuda_options(Precision::kFp16));
  const Tensor input = testing::random_tensor({1, 3, 640, 640}, 29, 0.0f, 1.0f);
  auto run_with_streams = [&](const char* streams) {
    if (*streams) ::setenv("DETSTREAM_CUDA_STREAMS", streams, 1);  // "": the count timed at build
    auto engine = Engine::create(plan);
    ::unsetenv("DETSTREAM_CUDA_STREAMS");
    auto context = engine->create_context();
    std::vector<Tensor> out = context->run({input});
    for (int replay = 0; replay < 5; ++replay) {
      const std::vector<Tensor> again = context->run({input});
      EXPECT_EQ(std::memcmp(again[0].data<float>(), out[0].data<float>(), out[0].count() * sizeof(float)), 0)
          << "replay " << replay << " differs with " << streams << " streams";
    }
    return out;
  };
  const std::vector<Tensor> one = run_with_streams("1");
  for (const char* streams : {"4", ""}) {
    const std::vector<Tensor> several = run_with_streams(streams);
    ASSERT_EQ(one[0].count(), several[0].count());
    EXPECT_EQ(std::memcmp(one[0].data<float>(), several[0].data<float>(), one[0].count() * sizeof(float)), 0)
        << (*streams ? streams : "timed") << " streams";
  }
}

}  // namespace
}  // namespace detstream::inference
#endif  // DETSTREAM_WITH_CUDA
