// Stream schedule: which of a context's streams each step runs on when the steps are captured as
// a CUDA graph, and which earlier steps on other streams it must wait for, so that independent
// branches (the detection head's box and class chains, a level's head beside the rest of the
// neck) run side by side. At batch 1 every layer leaves most of the GPU idle, so the graph's
// critical path, not its sum, is the latency.
// A step depends on every earlier step whose arena bytes it reads after they were written, or
// writes after they were read or written (the memory planner reuses buffers, so write-after-read
// matters too). Byte ranges are conservative (a strided view covers its whole span): a false
// dependency costs parallelism, never correctness. Each stream has its own split-K scratch, so
// steps on different streams share no workspace. Pure C++ (no CUDA): tested without a GPU.
// Internal to inference/cuda/.
#pragma once

#include <vector>

#include "inference/cuda/lowering.h"

namespace detstream::inference::cuda {

struct StreamSchedule {
  int streams = 1;                      // streams used (1..max_streams)
  std::vector<int> stream;              // by step
  std::vector<std::vector<int>> waits;  // by step: the latest dependency on each other stream
  std::vector<std::vector<int>> depends;  // by step: every earlier step it conflicts with
  // By step: by how many kernels the longest chain through it (stream order and waits) is
  // shorter than the schedule's longest; 0 on a critical path. Kernels count alike: at batch 1
  // each costs about the same from its producer's end to its own.
  std::vector<int> slack;
};

// max_streams 1 gives the plain sequential order (no waits).
StreamSchedule schedule_streams(const LoweredGraph& lowered, int max_streams);

}  // namespace detstream::inference::cuda
