// run_transform_stage: the loop shared by the middle stages (preprocess, inference, postprocess,
// render): pop an item, time `work(item)`, push it on. On failure the stage records the error,
// aborts both queues (so every other stage unblocks and ends) and returns. When the input queue
// is closed and drained, the output queue is closed: end of stream flows downstream.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <string>

#include "pipeline/stages/stage_metrics.h"
#include "pipeline/stages/work_item.h"

namespace detstream::pipeline {

// `work` returns "" on success, else the error message.
using StageWork = std::function<std::string(WorkItem&)>;

// Returns "" when the stream ended normally, else the error.
inline std::string run_transform_stage(ItemQueue& in, ItemQueue& out, StageMetrics& metrics, const StageWork& work) {
  while (auto popped = in.pop()) {
    ItemPtr item = std::move(popped->value);
    if (popped->after_drop) item->frame.after_gap = true;
    const auto start = Clock::now();
    std::string error;
    try {
      error = work(*item);
    } catch (const std::exception& e) {  // exceptions never cross threads: they become the stage's error
      error = e.what();
    }
    metrics.work_ms.record(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!error.empty()) {
      in.abort();
      out.abort();
      return metrics.name + ": " + error;
    }
    ++metrics.items;
    if (!out.push(std::move(item))) break;
  }
  out.close();
  return "";
}

}  // namespace detstream::pipeline
