// CudaEngine and CudaContext: the CUDA backend's BackendEngine and BackendContext.
// CudaEngine (immutable after construction, shared by its contexts): the lowered graph, the
// constants and conv weights on the device, and one prepared Layer per step.
// CudaContext (one thread at a time): a stream, a cuDNN handle, the activation arena, the conv
// workspace, pinned staging for inputs and outputs, and the CUDA graph of the layers, captured on
// the first execute and replayed afterwards (DETSTREAM_CUDA_GRAPH=0 turns graphs off; a capture
// that fails falls back to plain launches and says why in describe()).
// Internal to inference/cuda/.
#pragma once

#include <cudnn.h>

#include <memory>
#include <string>
#include <vector>

#include "inference/backend.h"
#include "inference/cuda/cuda_backend.h"
#include "inference/cuda/device_memory.h"
#include "inference/cuda/layer.h"
#include "inference/cuda/lowering.h"
#include "inference/cuda/stream_schedule.h"
#include "inference/runtime/frame_detector.h"

namespace detstream::inference::cuda {

class CudaEngine final : public BackendEngine {
 public:
  CudaEngine(const Plan& plan, const LoweringOptions& options);
  std::unique_ptr<BackendContext> create_context() const override;
  // Each stream of the schedule has its own split-K scratch.
  std::size_t context_memory_bytes() const override {
    return lowered_.arena_bytes + static_cast<std::size_t>(schedule_.streams) * (workspace_bytes_ + tile_counters_ * sizeof(unsigned));
  }

  const LoweredGraph& lowered() const { return lowered_; }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  // How the captured graph spreads the layers over streams: DETSTREAM_CUDA_STREAMS=n (1 = one
  // stream), else 2, 3 or 4, whichever replayed fastest at build (choose_stream_count).
  const StreamSchedule& schedule() const { return schedule_; }
  std::size_t workspace_bytes() const { return workspace_bytes_; }
  std::size_t tile_counters() const { return tile_counters_; }
  std::size_t node_count() const { return node_count_; }
  int device() const { return device_; }
  const LoweringOptions& options() const { return options_; }
  // Where the tactics came from: empty without DETSTREAM_CUDA_TIMING_CACHE, else the file and its
  // entry count (or why the file was not used).
  const std::string& timing_cache_note() const { return timing_cache_note_; }

 private:
  LoweringOptions options_;
  LoweredGraph lowered_;
  std::vector<DeviceBuffer> constants_;  // by root index (empty for arena roots)
  std::vector<std::unique_ptr<Layer>> layers_;
  StreamSchedule schedule_;
  std::size_t workspace_bytes_ = 0;
  std::size_t tile_counters_ = 0;  // split-K arrival counters a context keeps (zeroed once)
  std::size_t node_count_ = 0;
  int device_ = 0;
  std::string timing_cache_note_;

  void choose_stream_count();
  void choose_tactics_in_graph(TimingCache* cache);
};

class CudaFrameDetector;

class CudaContext final : public BackendContext {
 public:
  explicit CudaContext(const CudaEngine& engine);
  ~CudaContext() override;
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  Status execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) override;
  void enable_profiling(bool on) override { profiling_ = on; }
  std::span<const double> last_node_times_ms() const override { return node_times_; }
  // The GPU frame path (frame_detector.cpp), made on first use.
  FrameDetector* frame_detector(std::string* why_not) override;

  EnqueueTiming time(int warmup, int iterations);
  // cuda_backend.h's device_input/device_output/enqueue.
  void* staging_address(std::size_t index, bool input);
  void enqueue_on(cudaStream_t caller);
  std::vector<LayerProfile> profile_layers(int repeats);
  std::string describe() const;
  // The replay of the graph's first `layers` layers (on the schedule's streams): ms, the median
  // of `replays` after one that warms.
  double time_graph_prefix(std::size_t layers, int replays);

 private:
  void initialise();
  void release();
  void copy_inputs_to_device();
  void copy_outputs_to_host();
  void run_layers();  // graph replay, or plain launches (with events when profiling)
  void enqueue_layers(bool with_events);
  // The first `layers` layers (all by default) over the schedule's streams, forked from and
  // joined to stream_.
  void enqueue_branches(std::size_t layers = static_cast<std::size_t>(-1));
  int priority_of(int slack) const;
  void capture_graph();
  LaunchArgs launch_args(std::size_t stream = 0) const;
  friend class CudaFrameDetector;  // letterboxes into the input staging, runs the layers, filters the output

  const CudaEngine& engine_;
  cudaStream_t stream_ = nullptr;  // the context's stream: copies, replays, and branch 0 of the graph
  cudnnHandle_t cudnn_ = nullptr;
  DeviceBuffer arena_;
  // By schedule stream; [0] is stream_ and cudnn_. Only graph capture uses the others.
  std::vector<cudaStream_t> branch_streams_;
  std::vector<cudnnHandle_t> branch_cudnn_;
  std::vector<DeviceBuffer> workspaces_, tile_counters_;
  std::vector<PinnedBuffer> pinned_inputs_, pinned_outputs_;
  cudaGraphExec_t graph_exec_ = nullptr;
  bool graph_enabled_ = true;
  bool priorities_enabled_ = true;
  int least_priority_ = 0, greatest_priority_ = 0;  // the device's range (greatest is the lowest number)
  std::string graph_note_;
  bool profiling_ = false;
  std::vector<cudaEvent_t> events_;  // one before each layer and one after the last
  cudaEvent_t caller_ready_ = nullptr, layers_done_ = nullptr;  // enqueue_on's hand-offs
  std::vector<double> node_times_;
  std::unique_ptr<FrameDetector> frame_detector_;  // holds only memory: freed after release() synchronised
  bool frame_detector_tried_ = false;
  std::string frame_detector_why_not_;
};

// Options of prepare(): NHWC, concatenation in place, strided convolutions (fp16), residual Adds
// folded into convolutions, the stem reading the input in place, the detection head's tail as one
// kernel; turned off by DETSTREAM_CUDA_LAYOUT=nchw, DETSTREAM_CUDA_CONCAT_IN_PLACE=0,
// DETSTREAM_CUDA_STRIDED_CONV=0, DETSTREAM_CUDA_FUSE_ADD=0, DETSTREAM_CUDA_DIRECT_CONV=0 and
// DETSTREAM_CUDA_FUSE_HEAD=0.
LoweringOptions lowering_options_from_environment();

}  // namespace detstream::inference::cuda
