// yolov8n on the cuda backend reproduces the golden detections (Ultralytics semantics, from ONNX
// Runtime's output: ../shared/golden/{bus,zidane}_640.json): the engine's raw output on the golden
// input tensor, decoded + NMS + scaled by postprocess::Decoder with the golden's thresholds, must
// give the same detections — same count and classes, IoU >= 0.98 in fp32 and >= 0.97 in fp16,
// |confidence difference| <= 0.01. GPU tests: skip without a GPU or without the shared data.
#if defined(DETSTREAM_WITH_CUDA) && defined(DETSTREAM_TESTS_WITH_POSTPROCESS)
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "inference/builder/builder.h"
#include "postprocess/decoder.h"
#include "postprocess/golden_detections.h"
#include "postprocess/letterbox_geometry.h"
#include "postprocess/yolo_output.h"
#include "support/shared_data.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/cuda_test_support.h"

namespace detstream::inference {
namespace {

class CudaGoldenDetections : public ::testing::TestWithParam<std::tuple<const char*, Precision>> {};

TEST_P(CudaGoldenDetections, Yolov8nReproducesTheReferenceDetections) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const auto [image, precision] = GetParam();
  const std::string tag = std::string(image) + "_640";
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  DETSTREAM_REQUIRE_SHARED(json_path, "golden/" + tag + ".json");
  DETSTREAM_REQUIRE_SHARED(input_path, "golden/" + tag + ".input.f32");
  const auto golden = detstream::testing::read_golden(json_path);
  const std::vector<float> input_values = detstream::testing::read_f32_file(input_path);

  BuildOptions options;
  options.backend = "cuda";
  options.precision = precision;
  auto engine = Engine::create(build_plan_from_onnx(model, options));
  Tensor input(DataType::kFloat32, {1, 3, 640, 640});
  ASSERT_EQ(input_values.size(), static_cast<std::size_t>(input.count()));
  std::memcpy(input.data<float>(), input_values.data(), input_values.size() * sizeof(float));
  const std::vector<Tensor> output = engine->create_context()->run({input});

  const postprocess::YoloOutputLayout layout = postprocess::describe_yolo_output(golden.output_shape, std::nullopt);
  ASSERT_EQ(output[0].count(), layout.batch * layout.image_stride());
  postprocess::DecodeOptions decode;
  decode.conf_threshold = golden.json.at("conf").get<float>();
  decode.iou_threshold = golden.json.at("iou").get<float>();
  postprocess::Decoder decoder(layout, decode);
  const auto found = decoder.decode(output[0].data<float>(),
                                    postprocess::compute_letterbox_geometry(golden.source_width, golden.source_height, 640, 640));
  const std::vector<postprocess::Detection> actual(found.begin(), found.end());
  const std::string label = tag + " " + std::string(to_string(precision));
  const auto stats =
      detstream::testing::expect_parity(actual, golden.detections, label, precision == Precision::kFp16 ? 0.97f : 0.98f);
  std::printf("[ cuda ] %s: %zu detections, min IoU %.5f, max |dconf| %.6f\n", label.c_str(), actual.size(),
              static_cast<double>(stats.min_iou), static_cast<double>(stats.max_conf_diff));
}

INSTANTIATE_TEST_SUITE_P(Images, CudaGoldenDetections,
                         ::testing::Combine(::testing::Values("bus", "zidane"),
                                            ::testing::Values(Precision::kFp32, Precision::kFp16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" + std::string(to_string(std::get<1>(info.param)));
                         });

}  // namespace
}  // namespace detstream::inference
#endif  // DETSTREAM_WITH_CUDA && DETSTREAM_TESTS_WITH_POSTPROCESS
