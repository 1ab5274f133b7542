// `detstream bench` end to end: runs the built binary on yolov8n_320 with a handful of iterations
// and checks the JSON report (fields present, statistics ordered, throughput consistent with the
// mean) and the per-layer profile; then the failure paths (missing model, bad flag). Uses the "cpu"
// backend when this build has it, else "ref", and --no-cache so nothing is written into ../shared.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "inference/backend.h"
#include "support/shared_data.h"
#include "support/subprocess.h"
#include "run_fixture.h"

namespace {

namespace fs = std::filesystem;

using ProcessResult = detstream::testing::CommandResult;
using detstream::testing::detstream_binary;
const auto quoted = detstream::testing::shell_quote;
const auto run_command = detstream::testing::run_shell;

#define REQUIRE_DETSTREAM_BINARY()                                                                       \
  if (!fs::exists(detstream_binary())) {                                                                 \
    GTEST_SKIP() << "\n\n*** SKIPPED: " << detstream_binary() << " is not built (build the detstream target) ***\n"; \
  }

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("detstream_bench_test_" + std::to_string(::getpid()) + "_" + name);
}

// One bench run with --profile, shared by the tests that read its report.
class BenchReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string model = (detstream::testing::shared_dir() / "models/yolov8n_320.onnx").string();
    if (!fs::exists(detstream_binary()) || !fs::exists(model)) return;
    backend_ = detstream::testing::fastest_backend_name();
    const fs::path json_path = temp_file("report.json");
    run_ = run_command(quoted(detstream_binary()) + " bench --model " + quoted(model) + " --backend " + backend_ +
                       " --no-cache --threads 1 --warmup 1 --iterations 3 --profile --json " + quoted(json_path.string()));
    std::ifstream in(json_path);
    if (in) report_ = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    fs::remove(json_path);
  }

  void SetUp() override {
    REQUIRE_DETSTREAM_BINARY();
    DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
    ASSERT_EQ(run_.exit_code, 0) << run_.output;
    ASSERT_TRUE(report_.is_object()) << "no readable JSON report; output:\n" << run_.output;
  }

  static inline ProcessResult run_;
  static inline nlohmann::json report_;
  static inline std::string backend_;
};

TEST_F(BenchReportTest, JsonHasTheRunSettings) {
  EXPECT_EQ(report_.at("backend"), backend_);
  EXPECT_EQ(report_.at("precision"), "fp32");
  EXPECT_EQ(report_.at("batch"), 1);
  EXPECT_EQ(report_.at("threads"), 1);
  EXPECT_EQ(report_.at("iterations"), 3);
  EXPECT_NE(report_.at("model").get<std::string>().find("yolov8n_320.onnx"), std::string::npos);
  EXPECT_FALSE(report_.at("machine").at("cpu").get<std::string>().empty());
  EXPECT_GT(report_.at("machine").at("cores").get<int>(), 0);
  EXPECT_GE(report_.at("load_ms").get<double>(), 0.0);
}

TEST_F(BenchReportTest, LatencyStatisticsAreOrderedAndThroughputMatchesTheMean) {
  const auto& latency = report_.at("latency_ms");
  const double min = latency.at("min"), median = latency.at("median"), mean = latency.at("mean");
  const double p99 = latency.at("p99"), max = latency.at("max");
  EXPECT_GT(min, 0.0);
  EXPECT_LE(min, median);
  EXPECT_LE(median, p99);
  EXPECT_LE(p99, max);
  EXPECT_GE(mean, min);
  EXPECT_LE(mean, max);
  const double throughput = report_.at("throughput_img_s");
  EXPECT_GT(throughput, 0.0);
  EXPECT_NEAR(throughput, 1000.0 / mean, 1e-6 * throughput);
}

TEST_F(BenchReportTest, PrintsTheSummaryLines) {
  EXPECT_NE(run_.output.find("Latency (ms): min"), std::string::npos) << run_.output;
  EXPECT_NE(run_.output.find("Throughput:"), std::string::npos) << run_.output;
  EXPECT_NE(run_.output.find("engine ready in"), std::string::npos) << run_.output;
}

TEST_F(BenchReportTest, ProfileNamesNodesAndSumsToTheWhole) {
  const auto& profile = report_.at("profile");
  ASSERT_TRUE(profile.at("available").get<bool>()) << "the " << backend_ << " backend reported no per-node times";
  const auto& nodes = profile.at("nodes");
  ASSERT_FALSE(nodes.empty());
  double percent = 0.0;
  double previous = nodes.front().at("mean_ms");
  for (const auto& node : nodes) {
    EXPECT_FALSE(node.at("name").get<std::string>().empty());
    EXPECT_FALSE(node.at("op").get<std::string>().empty());
    EXPECT_FALSE(node.at("impl").get<std::string>().empty());
    EXPECT_LE(node.at("mean_ms").get<double>(), previous) << "nodes must be sorted slowest first";
    previous = node.at("mean_ms");
    percent += node.at("percent").get<double>();
  }
  EXPECT_NEAR(percent, 100.0, 1e-6);
  EXPECT_NE(run_.output.find("Per-layer profile"), std::string::npos);
  bool has_conv = false;
  for (const auto& group : profile.at("by_op")) has_conv |= group.at("op") == "Conv";
  EXPECT_TRUE(has_conv) << "yolov8n's time should show Conv";
}

TEST(BenchCommandTest, MissingModelFailsAndNamesThePath) {
  REQUIRE_DETSTREAM_BINARY();
  const std::string missing = (fs::temp_directory_path() / "detstream_no_such_model.onnx").string();
  const ProcessResult run = run_command(quoted(detstream_binary()) + " bench --model " + quoted(missing) + " --iterations 1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find(missing), std::string::npos) << run.output;
}

TEST(BenchCommandTest, UnwritableJsonFailsBeforeBenchmarking) {
  REQUIRE_DETSTREAM_BINARY();
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  const std::string json = (temp_file("no_such_dir") / "report.json").string();
  const ProcessResult run = run_command(quoted(detstream_binary()) + " bench --model " + quoted(model) +
                                        " --no-cache --iterations 1 --json " + quoted(json));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find(json), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Latency (ms)"), std::string::npos) << "it should fail before measuring:\n" << run.output;
}

TEST(BenchCommandTest, RejectsZeroIterations) {
  REQUIRE_DETSTREAM_BINARY();
  const fs::path model = temp_file("placeholder.onnx");  // exists, so the flag check is what fails
  std::ofstream(model) << "not a model";
  const ProcessResult run = run_command(quoted(detstream_binary()) + " bench --model " + quoted(model.string()) +
                                        " --iterations 0");
  fs::remove(model);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("--iterations"), std::string::npos) << run.output;
}

TEST(BenchCommandTest, HelpExplainsTheMeasurement) {
  REQUIRE_DETSTREAM_BINARY();
  const ProcessResult run = run_command(quoted(detstream_binary()) + " bench --help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* word : {"--warmup", "--iterations", "--duration-s", "--json", "--profile", "throughput", "p99"}) {
    EXPECT_NE(run.output.find(word), std::string::npos) << word << " missing from:\n" << run.output;
  }
}

}  // namespace
