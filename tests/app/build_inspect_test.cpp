// `detstream build` and `detstream inspect` on good inputs, through the built binary: the plan
// is written and loadable, the reports show what the task asks for (timings, sizes, per-impl
// counts, layers before/after the passes, pass log, metadata, compatibility).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "inference/backend.h"
#include "inference/plan/plan_format.h"
#include "support/shared_data.h"
#include "support/subprocess.h"
#include "support/tiny_onnx_model.h"

namespace detstream::testing {
namespace {

namespace fs = std::filesystem;

class BuildInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(detstream_binary())) {
      GTEST_SKIP() << "\n\n*** SKIPPED: " << detstream_binary() << " is not built (build the detstream target) ***\n";
    }
    model_ = dir_ / "tiny.onnx";
    write_tiny_onnx(model_, TinyModelSpec::dynamic_shapes());
  }
  CommandResult cli(const std::string& args) { return run_shell(shell_quote(detstream_binary()) + " " + args); }
  // Column widths depend on the longest cell, so table rows are matched with \s+ between cells.
  static void expect_row(const std::string& text, const std::string& pattern) {
    EXPECT_TRUE(std::regex_search(text, std::regex(pattern))) << "no row /" << pattern << "/ in:\n" << text;
  }
  static void expect_lines(const std::string& text, std::initializer_list<const char*> words) {
    for (const char* word : words)
      EXPECT_NE(text.find(word), std::string::npos) << "missing '" << word << "' in:\n" << text;
  }

  TempDir dir_{"build-inspect"};
  std::string model_;
};

TEST_F(BuildInspectTest, BuildWritesAPlanAndReportsIt) {
  const std::string plan = dir_ / "out.plan";
  const CommandResult build =
      cli("build --model " + shell_quote(model_) +
          " --backend ref --min-batch 1 --opt-batch 2 --max-batch 4 --imgsz 64 --output " + shell_quote(plan));
  ASSERT_EQ(build.exit_code, 0) << build.output;
  expect_lines(build.output, {"build time", "plan size", "5 imported -> 2 after passes", "conv-activation-fusion",
                              "nodes per impl", "ref   2", "2 (min 1, max 4)", "2x3x64x64"});
  const inference::PlanHeader header = inference::read_plan_header(plan);
  EXPECT_EQ(header.batch.min, 1);
  EXPECT_EQ(header.batch.opt, 2);
  EXPECT_EQ(header.batch.max, 4);
  EXPECT_EQ(header.inputs.at(0).shape, (inference::Shape{2, 3, 64, 64}));
  EXPECT_EQ(header.build_info.at("source"), "tiny.onnx");
  EXPECT_NO_THROW(inference::load_plan(plan));
}

TEST_F(BuildInspectTest, WorkspaceLimitIsRecordedInThePlanAndBadSizesAreRefused) {
  const std::string plan = dir_ / "ws.plan";
  const CommandResult build = cli("build --model " + shell_quote(model_) + " --backend ref --imgsz 64 --workspace 64M --output " +
                                  shell_quote(plan));
  ASSERT_EQ(build.exit_code, 0) << build.output;
  expect_row(build.output, "workspace limit\\s+64");
  EXPECT_NE(inference::read_plan_header(plan).build_info.at("options").find(";workspace=67108864"), std::string::npos);
  EXPECT_EQ(inference::load_plan(plan).workspace_limit_bytes, std::size_t{64} << 20);
  for (const char* bad : {"12X", "-5", "1.5G", "M", "99999999999999999999"}) {
    const CommandResult refused = cli("build --model " + shell_quote(model_) + " --backend ref --workspace=" + bad +
                                      " --output " + shell_quote(dir_ / "bad.plan"));
    EXPECT_NE(refused.exit_code, 0) << bad << ": " << refused.output;  // a CLI11 usage error
    EXPECT_NE(refused.output.find("--workspace"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("is not a size"), std::string::npos) << refused.output;
  }
  EXPECT_FALSE(fs::exists(dir_ / "bad.plan"));
  for (const char* command : {"build", "bench", "detect", "run"}) {
    const CommandResult help = cli(std::string(command) + " --help");
    EXPECT_NE(help.output.find("--workspace"), std::string::npos) << command << "\n" << help.output;
  }
  EXPECT_NE(cli("run --help").output.find("--prepost"), std::string::npos);
}

TEST_F(BuildInspectTest, InspectOnnxShowsBothLayerListsAndThePassLog) {
  const CommandResult inspect = cli("inspect --backend ref " + shell_quote(model_));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  expect_lines(inspect.output, {"ONNX, opset 17", "images  float32  ?x3x?x?", "output0", "task    detect", "2 classes",
                                "layers as imported (5)", "fused into model.0/conv/Conv", "1x4x32x32 (+silu)",
                                "constant-folding", "layers after the passes (2)", "ref/any/fp32"});
  expect_row(inspect.output, R"(matches this machine\s+yes)");
  // --summary leaves the layer lists out.
  const CommandResult summary = cli("inspect --summary --backend ref " + shell_quote(model_));
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  EXPECT_EQ(summary.output.find("layers as imported"), std::string::npos);
}

TEST_F(BuildInspectTest, InspectPlanShowsStoredLayersWithImplAndActivation) {
  const std::string plan = dir_ / "tiny.plan";
  ASSERT_EQ(cli("build --backend ref --model " + shell_quote(model_) + " --output " + shell_quote(plan)).exit_code, 0);
  const CommandResult inspect = cli("inspect " + shell_quote(plan));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  expect_lines(inspect.output,
               {"detstream plan v1", "ref (fp32)", "build.options", "images  float32  1x3x32x32", "imgsz   [32, 32]",
                "layers (2)", "Conv  ref   silu        model.0/conv/Conv  1x4x32x32",
                "Conv  ref   relu        model.1/conv/Conv  1x6x32x32"});
  expect_row(inspect.output, R"(matches this machine\s+yes)");
}

TEST_F(BuildInspectTest, RealModelInspects) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  std::string backend = "cpu";
  try {
    (void)inference::backend_named(backend);
  } catch (const std::exception&) {
    backend = "ref";
  }
  const CommandResult inspect = cli("inspect --summary --backend " + backend + " " + shell_quote(model));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  expect_lines(inspect.output, {"images  float32  1x3x320x320", "80 classes", "conv-activation-fusion"});
  expect_row(inspect.output, R"(stride\s+32\n)");
  expect_row(inspect.output, R"(matches this machine\s+yes)");
}

}  // namespace
}  // namespace detstream::testing
