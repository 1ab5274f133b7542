// Helpers for the plan tests: a small built plan, running a plan, and byte-level edits of a
// serialized plan (with or without re-sealing the checksum, to reach the deeper checks).
#pragma once

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "inference/backend.h"
#include "inference/builder/builder.h"
#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/plan/plan_format.h"
#include "inference/runtime/engine.h"
#include "support/tiny_onnx_model.h"

namespace detstream::inference::plan_test {

inline bool has_backend(const std::string& name) {
  try {
    (void)backend_named(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

inline Plan tiny_plan(const std::string& backend = "ref", const testing::TinyModelSpec& spec = {}) {
  BuildOptions options;
  options.backend = backend;
  Plan plan = build_plan(onnx::import_model_bytes(testing::tiny_onnx_bytes(spec), ".", "tiny.onnx"), options);
  plan.model_hash = "00112233445566ff";
  return plan;
}

// Runs one deterministic input through the plan (threads = 1).
inline std::vector<Tensor> run_plan(Plan plan) {
  const auto engine = Engine::create(std::move(plan), 1);
  std::vector<Tensor> inputs;
  for (const TensorDesc& desc : engine->inputs()) {
    Tensor t(desc.dtype, desc.shape);
    float* data = t.data<float>();
    for (std::int64_t i = 0; i < t.count(); ++i) data[i] = static_cast<float>((i * 37) % 101) / 101.0f - 0.3f;
    inputs.push_back(std::move(t));
  }
  return engine->create_context()->run(inputs);
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Recomputes the trailing checksum after an edit, so that the edit reaches the parser.
inline void reseal(std::string& bytes) {
  const std::uint64_t sum = plan_checksum(bytes.data(), bytes.size() - 8);
  std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
}

struct SectionSpan {
  std::size_t offset = 0;  // of the payload
  std::size_t size = 0;
};

// Walks the section table of a well-formed plan (the test's own parser, independent of the code
// under test) and returns the payload of section `tag`.
inline SectionSpan find_section(const std::string& bytes, const std::string& tag) {
  std::size_t at = 24;
  while (at + 12 <= bytes.size() - 8) {
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data() + at + 4, 8);
    if (bytes.compare(at, 4, tag) == 0) return {at + 12, static_cast<std::size_t>(length)};
    at += 12 + static_cast<std::size_t>(length);
  }
  return {};
}

}  // namespace detstream::inference::plan_test
