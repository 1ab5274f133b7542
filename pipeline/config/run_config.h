// RunConfig: everything `detstream run` takes, loadable from a YAML file in configs/ (yaml-cpp).
// The file mirrors the command-line flags; flags given on the command line override the file.
// Unknown keys are errors (a typo must not be ignored silently). Plain data.
//
//   model: ../shared/models/yolov8n.onnx      backend: cpu       precision: fp32
//   imgsz: 640   threads: 0   source: video.mp4   output: out.mp4   json: dets.jsonl
//   report: report.json   conf: 0.25   iou: 0.7   max_det: 300   classes: [0, 2]
//   display: false   max_frames: 0   prepost: auto                # auto | host (pre/post-processing path)
//   queues: {capacity: 4, policy: auto}          # auto | block | drop-oldest
//   rtsp: {latency_ms: 100}   open_timeout_s: 10   stall_timeout_s: 5
//   reconnect: {max_attempts: -1, backoff_initial_s: 0.5, backoff_max_s: 8}   # live sources only
//   camera: {width: 1280, height: 720, fps: 30}  # CSI camera mode
#pragma once

#include <string>

#include "pipeline/pipeline.h"

namespace detstream::pipeline {

struct RunConfig {
  std::string model;
  std::string backend = "cpu";
  std::string precision = "fp32";
  int imgsz = 0;
  int threads = 0;
  std::string report;
  PipelineOptions pipeline;
};

// Throws std::runtime_error naming the file and the offending key or value.
RunConfig load_run_config(const std::string& path);
// Applies a YAML document (the file's text) over `config`.
void apply_run_config_yaml(const std::string& yaml_text, const std::string& label, RunConfig& config);
// Throws std::runtime_error (prefixed with `where`) for a negative count or backoff, or cap < initial.
void check_reconnect_policy(const ReconnectPolicy& policy, const std::string& where);
// "block" | "drop-oldest" | "auto" (std::nullopt); throws for anything else.
std::optional<OverflowPolicy> parse_queue_policy(const std::string& text);

}  // namespace detstream::pipeline
