#include "inference/cuda/graph_timing.h"

#include "inference/cuda/cuda_check.h"

namespace detstream::inference::cuda {

namespace {

// The instantiated graph and the two events, released on every path.
struct Replay {
  cudaGraphExec_t exec = nullptr;
  cudaEvent_t begin = nullptr, end = nullptr;
  Replay() = default;
  Replay(const Replay&) = delete;
  Replay& operator=(const Replay&) = delete;
  ~Replay() {
    if (begin) cudaEventDestroy(begin);
    if (end) cudaEventDestroy(end);
    if (exec) cudaGraphExecDestroy(exec);
  }
};

}  // namespace

std::vector<float> time_graph_replays(cudaStream_t stream, const std::function<void()>& enqueue, int replays) {
  cudaGraph_t graph = nullptr;
  DETSTREAM_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    enqueue();
  } catch (...) {
    cudaStreamEndCapture(stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  DETSTREAM_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  Replay r;
  const cudaError_t made = cudaGraphInstantiate(&r.exec, graph, cudaGraphInstantiateFlagUseNodePriority);
  cudaGraphDestroy(graph);
  DETSTREAM_CUDA_CHECK(made);
  DETSTREAM_CUDA_CHECK(cudaEventCreate(&r.begin));
  DETSTREAM_CUDA_CHECK(cudaEventCreate(&r.end));
  DETSTREAM_CUDA_CHECK(cudaGraphLaunch(r.exec, stream));  // warm
  std::vector<float> times;
  for (int i = 0; i < replays; ++i) {
    DETSTREAM_CUDA_CHECK(cudaEventRecord(r.begin, stream));
    DETSTREAM_CUDA_CHECK(cudaGraphLaunch(r.exec, stream));
    DETSTREAM_CUDA_CHECK(cudaEventRecord(r.end, stream));
    DETSTREAM_CUDA_CHECK(cudaEventSynchronize(r.end));
    float ms = 0.0f;
    DETSTREAM_CUDA_CHECK(cudaEventElapsedTime(&ms, r.begin, r.end));
    times.push_back(ms);
  }
  return times;
}

}  // namespace detstream::inference::cuda
