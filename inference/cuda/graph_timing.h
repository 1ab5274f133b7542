// Device time of captured CUDA graphs, shared by the tactic timing (conv_layer.cpp) and by the
// engine's graph-prefix timing and per-layer profile (cuda_engine.cpp). Replaying a graph measures
// the kernels and the gaps between its nodes as the real replay has them, not the host's launch
// overhead (which would make every small kernel look 5-20 us long). Internal to inference/cuda/.
#pragma once

#include <cuda_runtime.h>

#include <functional>
#include <vector>

namespace detstream::inference::cuda {

// What `enqueue` launches on `stream` is captured as one graph (instantiated with node
// priorities, so kernels keep their launch priorities), replayed once to warm up and then
// `replays` times between events: each replay's milliseconds. A throw from `enqueue` ends the
// capture and propagates.
std::vector<float> time_graph_replays(cudaStream_t stream, const std::function<void()>& enqueue, int replays);

}  // namespace detstream::inference::cuda
