// The cuda backend's build-time contract, checked without a GPU: compatibility key, precisions,
// assignment, and the refusal of a plan built for another GPU.
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/cuda_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "graph_fixtures.h"
#include "inference/builder/builder.h"
#include "inference/core/error.h"
#include "inference/cuda/lowering.h"
#include "inference/runtime/engine.h"
#include "support/shared_data.h"
#include "tests/inference/cuda/cuda_test_support.h"

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

// YOLOv8's head reads each level's map with two 3x3 convolutions (box and class branch): at fp16
// assign merges each pair into one convolution and a Split whose halves the next convolutions
// read in place (no copy step); at fp32 (packed inputs only) and with the switch off it does not.
TEST(CudaBackend, AssignMergesTheHeadsSiblingConvolutionsWhereTheirSlicesAreReadInPlace) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  BuildOptions options;
  options.backend = "ref";
  const Graph passed = build_plan_from_onnx(model, options).graph;
  const auto merged_convs = [](const Graph& g) {
    return std::count_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op_type == "Conv" && n.name.find(" + ") != std::string::npos; });
  };
  Graph g = passed;
  cuda_backend().assign(g, Precision::kFp16);
  ASSERT_EQ(merged_convs(g), 3) << "one pair per stride level";
  cuda::LoweringOptions strided;  // the fp16 build's options
  strided.conv_strided_input = strided.conv_strided_output = true;
  const cuda::LoweredGraph lowered = cuda::lower_graph(g, Precision::kFp16, strided);
  const auto consumers = g.consumers();
  for (const Node& split : g.nodes) {
    if (split.op_type != "Split" || split.name.find(" + ") == std::string::npos) continue;
    const std::int64_t channels = g.value(split.inputs[0]).shape[1];
    EXPECT_EQ(channels, 64 + 80) << split.name << ": box (4 x 16 bins) and class branch";
    for (int half : split.outputs)
      for (int reader : consumers[static_cast<std::size_t>(half)]) {
        const auto step = std::find_if(lowered.steps.begin(), lowered.steps.end(), [&](const cuda::Step& s) { return s.node == reader; });
        ASSERT_NE(step, lowered.steps.end()) << g.nodes[static_cast<std::size_t>(reader)].name;
        EXPECT_EQ(step->kind, cuda::StepKind::kConv);
        EXPECT_EQ(step->inputs[0].strides[3], channels) << g.nodes[static_cast<std::size_t>(reader)].name << " reads its slice in place";
      }
  }
  Graph fp32 = passed;
  cuda_backend().assign(fp32, Precision::kFp32);
  EXPECT_EQ(merged_convs(fp32), 0);
  const testing::ScopedEnv off("DETSTREAM_CUDA_MERGE_SIBLINGS", "0");
  Graph unmerged = passed;
  cuda_backend().assign(unmerged, Precision::kFp16);
  EXPECT_EQ(merged_convs(unmerged), 0);
}

}  // namespace
}  // namespace detstream::inference
#endif  // DETSTREAM_WITH_CUDA
