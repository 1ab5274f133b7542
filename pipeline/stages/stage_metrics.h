// StageMetrics: what one stage measured: time spent per item (its own work, not waiting) and how
// many items it passed on or dropped. Written only by the stage's thread; read after join().
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/stats/latency_histogram.h"

namespace detstream::pipeline {

struct StageMetrics {
  std::string name;
  LatencyHistogram work_ms;
  std::uint64_t items = 0;
  std::uint64_t dropped_at_input = 0;  // filled from the input queue after the run
  std::size_t input_queue_max = 0;
  std::size_t input_queue_capacity = 0;
};

}  // namespace detstream::pipeline
