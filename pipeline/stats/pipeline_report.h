// PipelineReport: what a run measured, as a table for the terminal and as the --report JSON:
// {"frames_in","frames_out","dropped","wall_s","fps","latency_ms":{"p50","p99"},
//  "prepost":{"preprocess","postprocess","host_path_reason"},
//  "stages":{"<name>":{"p50_ms","p99_ms","mean_ms","items","queue_max","queue_capacity","dropped","queue_policy"}},
//  "connection": null (files) | {"reconnects","failed_attempts","outage_s","frames_missing","gave_up",
//                                "outages":[{"after_frame","seconds","frames_missing","attempts","reason","recovered"}]},
//  "source_lost", ...}
// Plain data; no locking.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/sources/reconnect_policy.h"

namespace detstream::pipeline {

struct StageReport {
  std::string name;
  double p50_ms = 0.0;
  double p99_ms = 0.0;
  double mean_ms = 0.0;
  std::uint64_t items = 0;
  std::size_t queue_max = 0;       // the high-water mark of the queue feeding this stage
  std::size_t queue_capacity = 0;
  std::uint64_t dropped = 0;       // items dropped at this stage's input queue; for capture, frames a
                                   // live source produced that never arrived (estimated from pts gaps)
  std::string queue_policy;        // "block" | "drop-oldest" ("" for capture: no input queue)
};

struct PipelineReport {
  std::string source;
  std::string model;
  std::string backend;
  std::string preprocess_path;   // e.g. "cpu letterbox (OpenCV)" | "gpu letterbox (cuda)"
  std::string postprocess_path;  // e.g. "cpu decode + confidence filter + NMS"
  std::string host_path_reason;  // why the backend's frame path did not run ("" when it did)
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t dropped = 0;
  double wall_s = 0.0;
  double fps = 0.0;
  double latency_p50_ms = 0.0;  // capture -> written
  double latency_p99_ms = 0.0;
  std::vector<StageReport> stages;
  bool stopped_early = false;   // a stop was requested (signal) before the source ended
  std::optional<ConnectionStats> connection;  // live sources: reconnects and outages
  bool source_lost = false;     // the live source stayed down past --max-reconnects (outputs are finalised)
  std::string error;            // "" when the run succeeded
  std::vector<std::string> outputs;
};

nlohmann::json to_json(const PipelineReport& report);
std::string format_report_table(const PipelineReport& report);
// Writes the JSON atomically (temporary file + rename); throws std::runtime_error on failure.
void write_report_file(const PipelineReport& report, const std::string& path);

}  // namespace detstream::pipeline
