// What the fuzz targets feed hostile bytes to, shared with the regression test that replays the
// inputs the fuzzers once crashed on (tests/fuzz/regressions/). Each entry must either succeed or
// throw inference::Error; anything else (a crash, a sanitizer report, another exception type) is
// a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "inference/builder/builder.h"
#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/plan/plan_format.h"

namespace detstream::fuzz {

// ONNX bytes -> importer -> shape inference, folding and passes (reference backend, fp32).
inline void import_and_build_onnx(const std::uint8_t* data, std::size_t size) {
  try {
    inference::Graph graph = inference::onnx::import_model_bytes(
        std::string(reinterpret_cast<const char*>(data), size), "/nonexistent-fuzz-dir", "fuzz.onnx");
    inference::BuildOptions options;
    options.backend = "ref";
    (void)inference::build_plan(std::move(graph), options);
  } catch (const inference::Error&) {
  }
}

// Plan bytes -> loader. The fuzzer's mutations would almost never keep the trailing checksum and
// the size field right, which would stop every input at check 3 or 4 of plan/FORMAT.md; so both
// are recomputed here, and the structural checks behind them get the hostile bytes.
inline void load_plan_with_fixed_framing(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 32) {
    const std::uint64_t total = bytes.size();
    for (int i = 0; i < 8; ++i) bytes[16 + i] = static_cast<char>((total >> (8 * i)) & 0xff);
    const std::uint64_t checksum = inference::plan_checksum(bytes.data(), bytes.size() - 8);
    for (int i = 0; i < 8; ++i) bytes[bytes.size() - 8 + i] = static_cast<char>((checksum >> (8 * i)) & 0xff);
  }
  try {
    (void)inference::deserialize_plan(bytes, "fuzz.plan");
  } catch (const inference::Error&) {
  }
}

}  // namespace detstream::fuzz
