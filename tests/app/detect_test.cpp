// `detstream detect` end to end: runs the built binary on bus.jpg and zidane.jpg with yolov8n
// (fp32, the "cpu" backend when this build has it, else "ref") and compares its --json output with
// golden/<image>_640.json (same classes and count, box IoU >= 0.98, |dconf| <= 0.01); then --save,
// --max-det, --help and the failure paths: missing image, unwritable --json/--save (refused before
// the model is loaded), and a model whose output is not (B, 4 + nc, N), which must leave no file.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/backend.h"
#include "postprocess/golden_detections.h"
#include "support/shared_data.h"
#include "support/subprocess.h"
#include "run_fixture.h"
#include "support/tiny_onnx_model.h"

namespace {

namespace fs = std::filesystem;
using detstream::testing::fastest_backend_name;
using detstream::testing::TempDir;

using ProcessResult = detstream::testing::CommandResult;
using detstream::testing::detstream_binary;
const auto quoted = detstream::testing::shell_quote;

ProcessResult run_detstream(const std::string& arguments) {
  return detstream::testing::run_shell(quoted(detstream_binary()) + " " + arguments);
}

bool binary_built() { return fs::exists(detstream_binary()); }

#define REQUIRE_DETSTREAM_BINARY()                                                                  \
  if (!binary_built()) {                                                                           \
    GTEST_SKIP() << "\n\n*** SKIPPED: " DETSTREAM_BINARY_DIR "/app/detstream is not built ***\n"; \
  }

std::string shared(const std::string& relative) { return (detstream::testing::shared_dir() / relative).string(); }

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

// One plan cache for the whole suite: yolov8n is built once, then loaded.
class DetectCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cache_ = std::make_unique<TempDir>("detect-cache"); }
  static void TearDownTestSuite() { cache_.reset(); }

  static std::string model_args(const std::string& model = "models/yolov8n.onnx") {
    return "--model " + quoted(shared(model)) + " --backend " + fastest_backend_name() + " --precision fp32 --cache-dir " +
           quoted(cache_->path().string());
  }

  TempDir out_{"detect-out"};
  static std::unique_ptr<TempDir> cache_;
};

std::unique_ptr<TempDir> DetectCommand::cache_;

class DetectGolden : public DetectCommand, public ::testing::WithParamInterface<const char*> {};

TEST_P(DetectGolden, MatchesTheGoldenDetections) {
  REQUIRE_DETSTREAM_BINARY();
  const std::string image = GetParam();
  DETSTREAM_REQUIRE_SHARED(golden_path, "golden/" + image + "_640.json");
  DETSTREAM_REQUIRE_SHARED(model_path, "models/yolov8n.onnx");
  const std::string json_path = out_ / "detections.json";
  const ProcessResult run = run_detstream("detect " + model_args() + " --image " + quoted(shared("images/" + image + ".jpg")) +
                                          " --json " + quoted(json_path));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("person"), std::string::npos) << run.output;  // the table

  std::ifstream file(json_path);
  const auto json = nlohmann::json::parse(file);
  EXPECT_EQ(json.at("image"), shared("images/" + image + ".jpg"));
  std::vector<detstream::postprocess::Detection> actual;
  for (const auto& d : json.at("detections")) {
    const auto& b = d.at("box_xyxy");
    actual.push_back({d.at("class_id").get<int>(), d.at("confidence").get<float>(),
                      {b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>()}});
    if (d.at("class_id") == 0) {
      EXPECT_EQ(d.at("class_name"), "person");
    }
  }
  const auto golden = detstream::testing::read_golden(golden_path);
  const auto stats = detstream::testing::expect_parity(actual, golden.detections, image);
  std::printf("[parity] detect %s (%s): %zu detections, min IoU %.5f, max |dconf| %.6f\n", image.c_str(),
              fastest_backend_name().c_str(), actual.size(), static_cast<double>(stats.min_iou),
              static_cast<double>(stats.max_conf_diff));
}

INSTANTIATE_TEST_SUITE_P(Images, DetectGolden, ::testing::Values("bus", "zidane"),
                         [](const auto& info) { return std::string(info.param); });

TEST_F(DetectCommand, SaveWritesAnImageAndMaxDetCaps) {
  REQUIRE_DETSTREAM_BINARY();
  DETSTREAM_REQUIRE_SHARED(image, "images/bus.jpg");
  const std::string saved = out_ / "annotated.png";
  const std::string json_path = out_ / "one.json";
  const ProcessResult run = run_detstream("detect " + model_args() + " --image " + quoted(image) +
                                          " --max-det 1 --json " + quoted(json_path) + " --save " + quoted(saved));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::ifstream png(saved, std::ios::binary);
  std::array<char, 8> magic{};
  png.read(magic.data(), magic.size());
  EXPECT_EQ(std::string(magic.data() + 1, 3), "PNG");
  std::ifstream file(json_path);
  EXPECT_EQ(nlohmann::json::parse(file).at("detections").size(), 1u);
  // Only the two outputs: no temporary files left behind.
  EXPECT_EQ(files_in(out_.path()).size(), 2u);
}

TEST_F(DetectCommand, MissingImageIsNamed) {
  REQUIRE_DETSTREAM_BINARY();
  const std::string missing = out_ / "no_such_image.jpg";
  const ProcessResult run = run_detstream("detect " + model_args() + " --image " + quoted(missing));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find(missing), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("does not exist"), std::string::npos) << run.output;
}

TEST_F(DetectCommand, UndecodableImageIsNamed) {
  REQUIRE_DETSTREAM_BINARY();
  const std::string fake = out_ / "fake.jpg";
  std::ofstream(fake) << "not an image";
  const ProcessResult run = run_detstream("detect " + model_args() + " --image " + quoted(fake));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("cannot decode image '" + fake + "'"), std::string::npos) << run.output;
}

TEST_F(DetectCommand, UnwritableOutputsAreRefusedBeforeTheModelLoads) {
  REQUIRE_DETSTREAM_BINARY();
  DETSTREAM_REQUIRE_SHARED(image, "images/bus.jpg");
  // The model file exists but is not ONNX: the error must be about the output path, proving the
  // paths are checked before the model is read.
  TempDir models("detect-garbage-model");
  const std::string garbage = models / "garbage.onnx";
  std::ofstream(garbage) << "not a model";
  const std::string args = "detect --model " + quoted(garbage) + " --image " + quoted(image);
  const ProcessResult json = run_detstream(args + " --json " + quoted(out_ / "no_dir/out.json"));
  EXPECT_EQ(json.exit_code, 1) << json.output;
  EXPECT_NE(json.output.find("--json"), std::string::npos) << json.output;
  EXPECT_NE(json.output.find("no_dir"), std::string::npos) << json.output;
  const ProcessResult save = run_detstream(args + " --save " + quoted(out_ / "no_dir/out.jpg"));
  EXPECT_EQ(save.exit_code, 1) << save.output;
  EXPECT_NE(save.output.find("--save"), std::string::npos) << save.output;
  const ProcessResult format = run_detstream(args + " --save " + quoted(out_ / "out.unknownformat"));
  EXPECT_EQ(format.exit_code, 1) << format.output;
  EXPECT_NE(format.output.find("cannot write this image type"), std::string::npos) << format.output;
  EXPECT_TRUE(files_in(out_.path()).empty());
}

TEST_F(DetectCommand, NonDetectionOutputIsAClearErrorAndWritesNothing) {
  REQUIRE_DETSTREAM_BINARY();
  DETSTREAM_REQUIRE_SHARED(image, "images/bus.jpg");
  TempDir models("detect-models");
  const std::string model = models / "not_a_detector.onnx";
  detstream::testing::write_tiny_onnx(model);  // output0 is [1, 6, 32, 32]
  const ProcessResult run =
      run_detstream("detect --model " + quoted(model) + " --backend ref --cache-dir " + quoted(models.path().string()) +
                    " --image " + quoted(image) + " --json " + quoted(out_ / "d.json") + " --save " +
                    quoted(out_ / "d.jpg"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("output0"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("1x6x32x32"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("4 + classes"), std::string::npos) << run.output;
  EXPECT_TRUE(files_in(out_.path()).empty());
}

TEST_F(DetectCommand, HelpExplainsEveryFlagAndBadValuesAreUsageErrors) {
  REQUIRE_DETSTREAM_BINARY();
  const ProcessResult help = run_detstream("detect --help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  for (const char* flag : {"--model", "--image", "--conf", "--iou", "--max-det", "--json", "--save", "--backend"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag << "\n" << help.output;
  }
  TempDir models("detect-help-model");
  const std::string model = models / "m.onnx";
  std::ofstream(model) << "not a model";  // exists, so the range check on --conf is what fails
  const ProcessResult bad = run_detstream("detect --model " + quoted(model) + " --image x.jpg --conf 1.5");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.exit_code, 1) << "a usage error, not a runtime failure: " << bad.output;
  EXPECT_NE(bad.output.find("--conf"), std::string::npos) << bad.output;
}

}  // namespace
