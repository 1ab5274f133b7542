#include "pipeline/config/run_config.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace detstream::pipeline {
namespace {

TEST(RunConfig, ReadsTheLiveSourceSettings) {
  RunConfig c;
  apply_run_config_yaml(R"(
stall_timeout_s: 2.5
reconnect: {max_attempts: 4, backoff_initial_s: 0.25, backoff_max_s: 3}
rtsp: {latency_ms: 40}
)", "live.yaml", c);
  const SourceOptions& s = c.pipeline.source_options;
  EXPECT_DOUBLE_EQ(s.stall_timeout_s, 2.5);
  EXPECT_EQ(s.reconnect.max_attempts, 4);
  EXPECT_DOUBLE_EQ(s.reconnect.initial_backoff_s, 0.25);
  EXPECT_DOUBLE_EQ(s.reconnect.max_backoff_s, 3.0);
  EXPECT_EQ(s.rtsp_latency_ms, 40);
  try {
    apply_run_config_yaml("reconnect: {backoff_initial_s: 4, backoff_max_s: 1}\n", "bad.yaml", c);
    FAIL() << "a cap below the initial backoff must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("backoff_max_s"), std::string::npos) << e.what();
  }
  EXPECT_THROW(apply_run_config_yaml("reconnect: {max_attempts: -2}\n", "bad.yaml", c), std::runtime_error);
  EXPECT_THROW(apply_run_config_yaml("reconnect: {tries: 2}\n", "bad.yaml", c), std::runtime_error);
}

TEST(RunConfig, ReadsEveryKey) {
  RunConfig c;
  apply_run_config_yaml(R"(
model: m.onnx
backend: cpu
precision: bf16
imgsz: 320
threads: 2
source: rtsp://127.0.0.1:8554/x
output: out.mp4
json: d.jsonl
report: r.json
conf: 0.4
iou: 0.5
max_det: 10
classes: [0, 2]
display: false
max_frames: 5
queues: {capacity: 3, policy: drop-oldest}
rtsp: {latency_ms: 50}
camera: {width: 640, height: 480, fps: 15}
open_timeout_s: 3
)", "test.yaml", c);
  EXPECT_EQ(c.model, "m.onnx");
  EXPECT_EQ(c.precision, "bf16");
  EXPECT_EQ(c.imgsz, 320);
  EXPECT_EQ(c.pipeline.source, "rtsp://127.0.0.1:8554/x");
  EXPECT_FLOAT_EQ(c.pipeline.decode.conf_threshold, 0.4f);
  EXPECT_EQ(c.pipeline.decode.max_det, 10);
  EXPECT_EQ(c.pipeline.classes, (std::vector<int>{0, 2}));
  EXPECT_EQ(c.pipeline.queues.capacity, 3u);
  EXPECT_EQ(c.pipeline.queues.policy, OverflowPolicy::kDropOldest);
  EXPECT_EQ(c.pipeline.source_options.rtsp_latency_ms, 50);
  EXPECT_EQ(c.pipeline.source_options.camera_fps, 15);
  EXPECT_DOUBLE_EQ(c.pipeline.source_options.open_timeout_s, 3.0);
}

TEST(RunConfig, UnknownKeysAndBadValuesAreNamed) {
  RunConfig c;
  try {
    apply_run_config_yaml("sourse: x.mp4\n", "cfg.yaml", c);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("sourse"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cfg.yaml"), std::string::npos);
  }
  EXPECT_THROW(apply_run_config_yaml("conf: high\n", "cfg.yaml", c), std::runtime_error);
  EXPECT_THROW(apply_run_config_yaml("queues: {policy: sometimes}\n", "cfg.yaml", c), std::runtime_error);
  EXPECT_THROW(apply_run_config_yaml("queues: {capacity: 0}\n", "cfg.yaml", c), std::runtime_error);
  EXPECT_THROW(apply_run_config_yaml("[1, 2", "cfg.yaml", c), std::runtime_error);
}

TEST(RunConfig, PrepostPathIsReadAndBadNamesAreRefused) {
  RunConfig c;
  EXPECT_EQ(c.pipeline.prepost, PrepostMode::kAuto);
  apply_run_config_yaml("prepost: host\n", "cfg.yaml", c);
  EXPECT_EQ(c.pipeline.prepost, PrepostMode::kHost);
  try {
    apply_run_config_yaml("prepost: gpu\n", "cfg.yaml", c);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cfg.yaml: prepost"), std::string::npos) << e.what();
  }
}

TEST(RunConfig, ShippedConfigsParse) {
  const std::filesystem::path configs = std::filesystem::path(DETSTREAM_SOURCE_DIR) / "configs";
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    const RunConfig c = load_run_config(entry.path().string());
    EXPECT_FALSE(c.model.empty()) << entry.path();
    EXPECT_FALSE(c.pipeline.source.empty()) << entry.path();
    ++parsed;
  }
  EXPECT_GE(parsed, 4);
}

}  // namespace
}  // namespace detstream::pipeline
