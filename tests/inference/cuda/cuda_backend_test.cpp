// The cuda backend's build-time contract, checked without a GPU: compatibility key, precisions,
// assignment, and the refusal of a plan built for another GPU.
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/cuda_backend.h"

#include <gtest/gtest.h>

#include <regex>

#include "graph_fixtures.h"
#include "inference/core/error.h"
#include "inference/runtime/engine.h"

namespace detstream::inference {
namespace {

TEST(CudaBackend, IsRegisteredUnderItsName) { EXPECT_EQ(&backend_named("cuda"), &cuda_backend()); }

TEST(CudaBackend, CompatibilityKeyNamesArchitectureAndLibraryVersions) {
  const std::string key = cuda_backend().compatibility_key(Precision::kFp16);
  EXPECT_TRUE(std::regex_match(key, std::regex(R"(cuda/(sm_\d+|no-device)/cuda-\d+\.\d+/cudnn-\d+\.\d+\.\d+/fp16)"))) << key;
  EXPECT_NE(cuda_backend().compatibility_key(Precision::kFp32), key);
}

TEST(CudaBackend, Bf16IsRefusedWithAReason) {
  try {
    cuda_backend().check_precision(Precision::kBf16);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
}

TEST(CudaBackend, AssignNamesAnImplementationForEveryNodeOfTheMiniYolo) {
  Graph g = testing::mini_yolo(1);
  cuda_backend().assign(g, Precision::kFp16);
  for (const Node& node : g.nodes) {
    EXPECT_EQ(node.impl.rfind("cuda.", 0), 0u) << node.name << " got '" << node.impl << "'";
    if (node.op_type == "Conv") {
      EXPECT_EQ(node.impl, "cuda.conv");
    }
  }
}

TEST(CudaBackend, AssignRejectsWhatItCannotRunNamingTheNode) {
  testing::TestGraph t;
  const int x = t.input("x", {1, 2, 8, 8});
  t.output(t.op("Resize", {x, kNoValue, t.constant("s", Tensor::from_float({1, 1, 2, 2}, {4}))}, {1, 2, 16, 16},
                {{"mode", Attribute::of_string("linear")}}));
  try {
    cuda_backend().assign(t.graph, Precision::kFp16);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Resize 'Resize_0'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nearest"), std::string::npos) << e.what();
  }
}

TEST(CudaBackend, PlanForAnotherGpuIsRefusedWithAMessageToRebuild) {
  Plan plan;
  plan.backend = "cuda";
  plan.precision = Precision::kFp16;
  std::string key = cuda_backend().compatibility_key(Precision::kFp16);
  key = std::regex_replace(key, std::regex(R"(cuda/[^/]+/)"), "cuda/sm_10/");  // a GPU nobody has
  plan.compatibility_key = key;
  plan.graph = testing::mini_yolo(1);
  try {
    Engine::create(plan);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sm_10"), std::string::npos) << message;
    EXPECT_NE(message.find("rebuild"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace detstream::inference
#endif  // DETSTREAM_WITH_CUDA
