// Pipeline: capture -> preprocess (letterbox) -> inference (one ExecutionContext) -> postprocess
// (decode + NMS + scale) -> render (overlay) -> sink (mp4 / JSON Lines / window), one thread per
// stage, joined by BoundedQueues (block for files: nothing lost; drop-oldest for live sources:
// lowest latency). When the context has a frame path (the cuda backend: letterbox, model and
// confidence filter on the GPU) and `prepost` allows it, preprocess only computes the letterbox
// geometry and postprocess only sorts, suppresses and scales the candidates
// (stages/detection_stages.h); the report says which path ran. Construction opens the source and
// the outputs, checks the model and makes the execution context, so every
// bad input fails before the run starts (std::runtime_error / inference::Error with the reason).
// run() blocks until the stream ends, request_stop() is called (from any thread: capture stops,
// queued frames drain, outputs are finalised) or a stage fails (outputs are not finalised and no
// partial file is left).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inference/runtime/engine.h"
#include "pipeline/core/bounded_queue.h"
#include "pipeline/sources/source_factory.h"
#include "pipeline/stages/detection_stages.h"
#include "pipeline/stats/pipeline_report.h"
#include "postprocess/decoder.h"

namespace detstream::pipeline {

struct QueueSettings {
  std::size_t capacity = 4;
  std::optional<OverflowPolicy> policy;  // default: kBlock for files/images, kDropOldest for live sources
};

struct PipelineOptions {
  std::string source;
  SourceOptions source_options;
  std::string output_video;   // "" = none
  std::string output_jsonl;   // "" = none
  bool display = false;
  postprocess::DecodeOptions decode;
  std::vector<int> classes;   // keep only these class ids; empty = all
  QueueSettings queues;
  std::int64_t max_frames = 0;  // 0 = until the source ends
  bool progress = true;         // shown only when stderr is a terminal and the length is known
  PrepostMode prepost = PrepostMode::kAuto;  // auto: the context's frame path when it has one
};

class Pipeline {
 public:
  Pipeline(std::shared_ptr<const inference::Engine> engine, PipelineOptions options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  PipelineReport run();
  void request_stop();
  const SourceInfo& source_info() const;
  // Which pre/post-processing path runs, e.g. "preprocess: gpu letterbox (cuda); postprocess: ...".
  std::string prepost_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace detstream::pipeline
