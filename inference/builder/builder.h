// The builder: imported graph -> bound input shapes -> passes -> backend assignment -> Plan.
// Input shapes: a static model keeps its own; symbolic dimensions of an image input (N x C x H x W)
// take the requested batch and image size (default: metadata imgsz). Throws Error with what to
// change when a request cannot be met (e.g. batch 4 on a model exported with fixed batch 1).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inference/graph/graph.h"
#include "inference/plan/plan.h"

namespace detstream::inference {

struct BuildOptions {
  std::string backend = "cpu";
  Precision precision = Precision::kFp32;
  BatchProfile batch;                       // the plan is built for batch.opt (fixed-shape backends use it)
  std::optional<std::pair<std::int64_t, std::int64_t>> image_size;  // H, W for dynamic inputs
  std::map<std::string, Shape> input_shapes;  // explicit overrides, win over the two above
  // The most scratch memory one layer's tactic may use (bytes; 0 = the backend's own limit).
  // Stored in the plan (Plan::workspace_limit_bytes), so the backend sees it in prepare().
  std::size_t workspace_limit_bytes = 0;
};

struct PassRecord {
  std::string name;
  bool modified = false;
  std::size_t nodes_after = 0;
};

struct BuildReport {
  std::vector<PassRecord> passes;
  double build_ms = 0.0;
};

Plan build_plan(Graph graph, const BuildOptions& options, BuildReport* report = nullptr);
// Imports the ONNX file, hashes its bytes into Plan::model_hash and builds.
Plan build_plan_from_onnx(const std::string& onnx_path, const BuildOptions& options, BuildReport* report = nullptr);
// Hex FNV-1a 64 of a file's bytes (the cache's model hash).
std::string hash_file(const std::string& path);

}  // namespace detstream::inference
