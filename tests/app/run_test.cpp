// `detstream run` end to end, through the built binary: a real video through the real model,
// SIGINT mid-run, and the bad inputs the pipeline must refuse before it starts.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "inference/backend.h"
#include "support/shared_data.h"
#include "support/subprocess.h"
#include "run_fixture.h"
#include "support/tiny_onnx_model.h"
#include "support/video_probe.h"

namespace detstream::testing {
namespace {

namespace fs = std::filesystem;

// The shared run fixture: a scratch folder per test, the plan cache, the binary's path.
class RunCommandTest : public RunFixture {};

TEST_F(RunCommandTest, HighwayVideoEveryFrameInEveryOutput) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/highway_cars_1280x720.mp4");
  const CommandResult run = run_shell(
      shell_quote(detstream_binary()) + " run --model " + shell_quote(model) + " --source " + shell_quote(video) +
      " --backend " + fastest_backend_name() + " --cache-dir " + shell_quote(cache_dir()) + " --output " + path("out.mp4") +
      " --json " + path("dets.jsonl") + " --report " + path("report.json") + " --no-progress");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::ifstream report_file(path("report.json"));
  const nlohmann::json report = nlohmann::json::parse(report_file);
  const long source_frames = count_video_frames(video);
  ASSERT_GT(source_frames, 0);
  EXPECT_EQ(report["frames_in"].get<long>(), source_frames);
  EXPECT_EQ(report["frames_out"].get<long>(), source_frames);
  EXPECT_EQ(report["dropped"].get<long>(), 0);
  EXPECT_EQ(count_lines(path("dets.jsonl")), source_frames);
  EXPECT_EQ(count_video_frames(path("out.mp4")), source_frames);
  EXPECT_GT(report["fps"].get<double>(), 0.0);
  EXPECT_LE(report["latency_ms"]["p50"].get<double>(), report["latency_ms"]["p99"].get<double>());
  // The cpu backend has no frame path: the OpenCV letterbox and the host decoder ran, and the report says so.
  EXPECT_EQ(report["prepost"]["preprocess"], "cpu letterbox (OpenCV)") << report.dump(2);
  EXPECT_EQ(report["prepost"]["postprocess"], "cpu decode + confidence filter + NMS");
  EXPECT_EQ(report["prepost"]["host_path_reason"], "the backend has no frame path");
  for (const char* stage : {"capture", "preprocess", "inference", "postprocess", "render", "sink"}) {
    ASSERT_TRUE(report["stages"].contains(stage)) << stage;
    EXPECT_EQ(report["stages"][stage]["items"].get<long>(), source_frames) << stage;
  }
  // Cars (COCO class 2) are found in most frames.
  std::ifstream jsonl(path("dets.jsonl"));
  long frames_with_cars = 0;
  for (std::string line; std::getline(jsonl, line);) {
    const auto frame = nlohmann::json::parse(line);
    for (const auto& d : frame["detections"]) {
      if (d["class_name"] == "car") {
        ++frames_with_cars;
        break;
      }
    }
  }
  EXPECT_GT(frames_with_cars, source_frames * 8 / 10);
}

TEST_F(RunCommandTest, SigintMidRunLeavesAPlayableFileMatchingTheReport) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/people_walking_street_1280x720.mp4");
  BackgroundProcess process({detstream_binary(), "run", "--model", model, "--source", video, "--backend",
                             fastest_backend_name(), "--cache-dir", cache_dir(), "--output", path("out.mp4"), "--json",
                             path("dets.jsonl"), "--report", path("report.json"), "--no-progress"},
                            path("log.txt"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (count_lines(path("dets.jsonl.partial")) < 20 && std::chrono::steady_clock::now() < deadline && process.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  process.signal(SIGINT);
  ASSERT_EQ(process.wait(), 0) << std::ifstream(path("log.txt")).rdbuf();
  std::ifstream report_file(path("report.json"));
  const nlohmann::json report = nlohmann::json::parse(report_file);
  EXPECT_TRUE(report["stopped_early"].get<bool>());
  const long written = report["frames_out"].get<long>();
  EXPECT_GE(written, 20);
  EXPECT_LT(written, count_video_frames(video));
  EXPECT_EQ(count_video_frames(path("out.mp4")), written);
  EXPECT_EQ(count_lines(path("dets.jsonl")), written);
  EXPECT_FALSE(fs::exists(path("out.mp4.partial")));
}

TEST_F(RunCommandTest, MissingSourceIsAClearErrorAndWritesNothing) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  const CommandResult run = run_shell(shell_quote(detstream_binary()) + " run --model " + shell_quote(model) +
                                      " --backend " + fastest_backend_name() + " --cache-dir " + shell_quote(cache_dir()) +
                                      " --source /nonexistent/video.mp4 --output " + path("out.mp4"));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("/nonexistent/video.mp4"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(path("out.mp4")));
}

TEST_F(RunCommandTest, CorruptVideoIsAClearErrorAndWritesNothing) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  {
    std::ofstream corrupt(path("corrupt.mp4"), std::ios::binary);
    for (int i = 0; i < 50000; ++i) corrupt.put(static_cast<char>((i * 2654435761u) >> 7));
  }
  const CommandResult run = run_shell(shell_quote(detstream_binary()) + " run --model " + shell_quote(model) +
                                      " --backend " + fastest_backend_name() + " --cache-dir " + shell_quote(cache_dir()) +
                                      " --source " + path("corrupt.mp4") + " --output " + path("out.mp4") +
                                      " --json " + path("dets.jsonl"));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("corrupt.mp4"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(path("out.mp4")));
  EXPECT_FALSE(fs::exists(path("dets.jsonl")));
  EXPECT_FALSE(fs::exists(path("dets.jsonl.partial")));
}

TEST_F(RunCommandTest, UnwritableOutputFailsBeforeRunning) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/highway_cars_1280x720.mp4");
  const CommandResult run = run_shell(shell_quote(detstream_binary()) + " run --model " + shell_quote(model) +
                                      " --backend " + fastest_backend_name() + " --cache-dir " + shell_quote(cache_dir()) +
                                      " --source " + shell_quote(video) + " --output /nonexistent-dir/out.mp4");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("/nonexistent-dir"), std::string::npos) << run.output;
}

TEST_F(RunCommandTest, ModelWithoutADetectionHeadIsRefused) {
  DETSTREAM_REQUIRE_SHARED(video, "videos/highway_cars_1280x720.mp4");
  write_tiny_onnx(path("not_a_detector.onnx"));  // output [1, 6, 32, 32]: rank 4, not (B, 4+nc, N)
  const CommandResult run = run_shell(shell_quote(detstream_binary()) + " run --model " + path("not_a_detector.onnx") +
                                      " --backend " + fastest_backend_name() + " --source " + shell_quote(video) +
                                      " --output " + path("out.mp4"));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("output0"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(path("out.mp4")));
}

TEST_F(RunCommandTest, ConfigFileIsReadAndFlagsOverrideIt) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/highway_cars_1280x720.mp4");
  {
    std::ofstream config(path("run.yaml"));
    config << "model: " << model << "\nsource: /nonexistent/overridden.mp4\nmax_frames: 7\nbackend: " << fastest_backend_name()
           << "\njson: " << path("dets.jsonl") << "\nqueues: {capacity: 2, policy: block}\n";
  }
  const CommandResult run = run_shell(shell_quote(detstream_binary()) + " run --config " + path("run.yaml") +
                                      " --source " + shell_quote(video) + " --cache-dir " + shell_quote(cache_dir()) +
                                      " --report " + path("report.json") + " --no-progress");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(count_lines(path("dets.jsonl")), 7);
  std::ifstream report_file(path("report.json"));
  const nlohmann::json report = nlohmann::json::parse(report_file);
  EXPECT_EQ(report["stages"]["inference"]["queue_capacity"].get<long>(), 2);
}

TEST_F(RunCommandTest, UnknownConfigKeyIsNamed) {
  {
    std::ofstream config(path("bad.yaml"));
    config << "modle: x.onnx\n";
  }
  const CommandResult run = run_shell(shell_quote(detstream_binary()) + " run --config " + path("bad.yaml"));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("modle"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace detstream::testing
