// The real YOLO models on the cpu backend against ONNX Runtime's golden outputs: yolov8n at 640
// (fp32 and bf16), yolo11n at 320 (attention block), the 4-class model and the dynamic 2-class
// export at 1x3x640x640 and 2x3x384x640.
#include <gtest/gtest.h>

#include <cstring>

#include "support/shared_data.h"
#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Tensor load_input(const std::string& path, const Shape& shape) {
  const std::vector<float> values = testing::read_f32_file(path);
  EXPECT_EQ(values.size(), static_cast<std::size_t>(element_count(shape))) << path;
  return Tensor::from_float(values, shape);
}

double golden_error(const std::string& model, const std::string& input, const std::string& output,
                    Precision precision, BuildOptions options = {}) {
  options.backend = "cpu";
  options.precision = precision;
  const auto engine = Engine::create(build_plan_from_onnx(model, options));
  const auto result = engine->create_context()->run({load_input(input, engine->inputs()[0].shape)});
  const std::vector<float> expected = testing::read_f32_file(output);
  EXPECT_EQ(static_cast<std::size_t>(result[0].count()), expected.size());
  if (static_cast<std::size_t>(result[0].count()) != expected.size()) return INFINITY;
  return testing::relative_l2(result[0].data<float>(), expected.data(), expected.size());
}

TEST(CpuModels, Yolov8n640Fp32MatchesOnnxRuntime) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(output, "golden/bus_640.output.f32");
  EXPECT_LE(golden_error(model, input, output, Precision::kFp32), 1e-4);
}

TEST(CpuModels, Yolov8n640Bf16MatchesOnnxRuntime) {
  DETSTREAM_REQUIRE_BF16();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(output, "golden/bus_640.output.f32");
  EXPECT_LE(golden_error(model, input, output, Precision::kBf16), 1e-2);
}

TEST(CpuModels, Yolo11n320Fp32MatchesOnnxRuntime) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolo11n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_yolo11n_320.input.f32");
  DETSTREAM_REQUIRE_SHARED(output, "golden/bus_yolo11n_320.output.f32");
  EXPECT_LE(golden_error(model, input, output, Precision::kFp32), 1e-4);
}

TEST(CpuModels, Yolo11n320Bf16MatchesOnnxRuntime) {
  DETSTREAM_REQUIRE_BF16();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolo11n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_yolo11n_320.input.f32");
  DETSTREAM_REQUIRE_SHARED(output, "golden/bus_yolo11n_320.output.f32");
  EXPECT_LE(golden_error(model, input, output, Precision::kBf16), 1e-2);
}

TEST(CpuModels, Yolov8n4Classes320Fp32MatchesOnnxRuntime) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_4cls_320.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_yolov8n_4cls_320.input.f32");
  DETSTREAM_REQUIRE_SHARED(output, "golden/bus_yolov8n_4cls_320.output.f32");
  EXPECT_LE(golden_error(model, input, output, Precision::kFp32), 1e-4);
}

TEST(CpuModels, DynamicTwoClassesAt640MatchesOnnxRuntime) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_dynamic_2cls.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_640.input.f32");
  DETSTREAM_REQUIRE_SHARED(output, "golden/bus_yolov8n_dynamic_2cls.output.f32");
  BuildOptions options;
  options.image_size = {{640, 640}};
  EXPECT_LE(golden_error(model, input, output, Precision::kFp32, options), 1e-4);
}

TEST(CpuModels, DynamicTwoClassesBatchTwoAt384x640GivesEqualItemsForEqualInputs) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_dynamic_2cls.onnx");
  DETSTREAM_REQUIRE_SHARED(input, "golden/bus_640.input.f32");
  BuildOptions options;
  options.backend = "cpu";
  options.batch = {1, 2, 2};
  options.image_size = {{384, 640}};
  const auto engine = Engine::create(build_plan_from_onnx(model, options));
  ASSERT_EQ(engine->inputs()[0].shape, (Shape{2, 3, 384, 640}));
  // Both items: the top 384 rows of the bus image, per channel.
  const std::vector<float> image = testing::read_f32_file(input);
  Tensor batch(DataType::kFloat32, {2, 3, 384, 640});
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      std::memcpy(batch.data<float>() + (n * 3 + c) * 384 * 640, image.data() + c * 640 * 640, 384 * 640 * sizeof(float));
  const auto result = engine->create_context()->run({batch});
  const Shape& shape = result[0].shape();
  ASSERT_EQ(shape.size(), 3u);
  ASSERT_EQ(shape[0], 2);
  EXPECT_EQ(shape[1], 6);  // 4 box + 2 classes
  const std::size_t item = static_cast<std::size_t>(shape[1] * shape[2]);
  const float* data = result[0].data<float>();
  EXPECT_EQ(std::memcmp(data, data + item, item * sizeof(float)), 0);
  for (std::size_t i = 0; i < 2 * item; ++i) ASSERT_TRUE(std::isfinite(data[i])) << i;
}

}  // namespace
}  // namespace detstream::inference::cpu_test
