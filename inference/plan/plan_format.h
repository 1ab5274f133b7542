// The serialized plan: one versioned binary file holding everything an Engine needs (graph with
// bound shapes and chosen impls, constant tensors, build settings, compatibility key). Layout and
// rationale: inference/plan/FORMAT.md.
//
// Writing goes to a temporary file in the target directory that is renamed over the target, so
// a crash or a concurrent reader never sees a half-written file under the final name. Reading
// trusts nothing: every length is checked against the bytes that remain, the whole file is
// checksummed, and each failure throws Error saying which problem it is (not a plan, format
// version, truncated, corrupt) and what to do. Free functions, no shared state: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inference/plan/plan.h"

namespace detstream::inference {

inline constexpr char kPlanMagic[8] = {'D', 'S', 'P', 'L', 'A', 'N', '\0', '\0'};
inline constexpr std::uint32_t kPlanFormatVersion = 1;

// A graph input or output as the plan stores it (readable without loading the graph).
struct PlanTensorInfo {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Shape shape;
};

// What read_plan_header returns: the small leading sections only (no graph, no weights).
// The header is read without verifying the checksum; load_plan verifies the whole file.
struct PlanHeader {
  std::uint32_t format_version = 0;
  std::uint64_t file_size = 0;
  std::string compatibility_key;
  std::string backend;
  Precision precision = Precision::kFp32;
  BatchProfile batch;
  std::string model_hash;
  std::map<std::string, std::string> metadata;    // the model's metadata (Graph::metadata)
  std::map<std::string, std::string> build_info;  // detstream version, creation time, options, ...
  std::vector<PlanTensorInfo> inputs;
  std::vector<PlanTensorInfo> outputs;
  std::string metadata_json;  // the raw META section (pretty-printable)
};

// Writes `plan`; `build_info` entries are stored under "build" in the metadata JSON next to the
// ones the writer adds itself (detstream_version, format_version, created_utc). Throws Error when
// the file cannot be written (names the path and the reason).
void save_plan(const Plan& plan, const std::string& path, const std::map<std::string, std::string>& build_info = {});
// The whole file as bytes (what save_plan writes); for tests and tools.
std::string serialize_plan(const Plan& plan, const std::map<std::string, std::string>& build_info = {});

Plan load_plan(const std::string& path);
// `label` names the source in error messages.
Plan deserialize_plan(const std::string& bytes, const std::string& label);

PlanHeader read_plan_header(const std::string& path);

// FNV-1a 64 of `size` bytes: the plan's trailing checksum.
std::uint64_t plan_checksum(const void* data, std::size_t size);

}  // namespace detstream::inference
