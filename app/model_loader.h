// Model options shared by build/bench/detect/run and the one way the CLI turns them into an
// Engine: a .plan is loaded (refused with a clear message if its compatibility key is not this
// machine's), an .onnx is built once and cached next to the model (or in --cache-dir) and rebuilt
// when the model's hash or the compatibility key changes.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "inference/builder/builder.h"
#include "inference/runtime/engine.h"

namespace detstream::app {

struct ModelOptions {
  std::string model;            // .onnx or .plan
  std::string backend = "cpu";
  std::string precision = "fp32";
  int batch = 1;
  int imgsz = 0;                // 0: the model's own (metadata imgsz); dynamic models only
  int threads = 0;              // 0: one per core
  std::string cache_dir;        // "": next to the model
  bool no_cache = false;
  std::string timing_cache;     // cuda: tactic timings reused across engine builds ("": time every layer)
  std::string workspace;        // --workspace SIZE: the most scratch memory a tactic may use ("" or "0": no limit)
};

// Registers --model, --backend, --precision, --batch, --imgsz, --threads, --cache-dir, --no-cache,
// --timing-cache.
void add_model_options(CLI::App& command, ModelOptions& options);
// Registers only --backend, --precision, --imgsz, --workspace (what `build` shares with the others).
void add_target_options(CLI::App& command, ModelOptions& options);
// A byte count as people type it: "1048576", "64M", "1G", "512k", "64MiB", "2GB" (K, M, G, T are
// powers of 1024; case-insensitive; an optional trailing "B" or "iB"). Throws std::invalid_argument
// naming the text and what is accepted (negative, fractional, unknown suffix, overflow).
std::size_t parse_byte_size(const std::string& text);
// Registers --workspace SIZE (validated with parse_byte_size) into `options.workspace`.
void add_workspace_option(CLI::App& command, std::string& workspace);

// The builder's options for an ONNX model (batch min = opt = max = --batch).
inference::BuildOptions to_build_options(const ModelOptions& options);

// Inference threads for the real-time pipeline when none are given: one per core but one, so that
// capture (decoding), rendering and encoding keep a core. On 2 cores, yolov8n bf16 ran the
// highway clip at 28.4 fps with 1 thread against 22.2 fps with 2, whose OpenMP regions kept
// waiting for the worker the decoder had preempted (bench/RESULTS.md).
int pipeline_inference_threads();

// Throws inference::Error with what is wrong and what to do.
std::shared_ptr<const inference::Engine> load_engine(const ModelOptions& options);

}  // namespace detstream::app
