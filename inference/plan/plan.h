// Plan: what the builder produces and the runtime loads. The optimised graph with bound shapes,
// every node's implementation chosen (Node::impl), plus the build settings and the compatibility
// key that says where it may run. Serialized by plan_format.h (spec: inference/plan/FORMAT.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "inference/graph/graph.h"

namespace detstream::inference {

enum class Precision : std::uint8_t { kFp32 = 0, kBf16 = 1, kFp16 = 2 };

std::string_view to_string(Precision precision);
// Throws Error for anything but fp32, bf16, fp16.
Precision parse_precision(std::string_view text);

struct BatchProfile {
  int min = 1;
  int opt = 1;
  int max = 1;
};

struct Plan {
  std::string backend;            // "ref", "cpu", "cuda"
  Precision precision = Precision::kFp32;
  BatchProfile batch;
  std::string compatibility_key;  // backend + ISA/arch + library versions + precision
  std::string model_hash;         // hash of the ONNX bytes it was built from (cache invalidation)
  // BuildOptions::workspace_limit_bytes: the most scratch memory a layer's tactic may use when the
  // backend prepares the plan (0 = the backend's own limit).
  std::size_t workspace_limit_bytes = 0;
  Graph graph;
};

}  // namespace detstream::inference
