// The CUDA backend ("cuda"): runs a plan on an NVIDIA GPU in fp16 or fp32 (TF32 off).
// Convolutions go through cuDNN, everything else through the backend's own kernels; feature maps
// are NHWC. A BackendEngine holds the weights on the device and the prepared convolutions and is
// immutable; each context owns a CUDA stream, a cuDNN handle, pinned staging buffers and one
// device activation arena, and replays its inference as a captured CUDA graph. Contexts of one
// engine run concurrently on their own streams; one context serves one thread at a time.
// This header is plain C++: CUDA, cuDNN and cuBLASLt headers never leave inference/cuda/.
#pragma once

#include <string>
#include <vector>

#include "inference/backend.h"

namespace detstream::inference {

const Backend& cuda_backend();

namespace cuda {

// True when a CUDA device can be used here; otherwise false and `why` says what is missing.
bool device_available(std::string* why = nullptr);

// Device-side timing of one context, with CUDA events, after `warmup` untimed runs. Each
// iteration is timed on its own (launch, record, synchronise), so the numbers are latencies.
struct EnqueueTiming {
  double median_ms = 0.0;      // the layers alone (graph replay when graphs are on)
  double min_ms = 0.0;
  double with_copies_median_ms = 0.0;  // plus the pinned host <-> device copies of inputs and outputs
  int iterations = 0;
  bool graph = false;          // whether the layers ran as a CUDA graph
};
// `context` must come from the cuda backend; throws Error otherwise or on a CUDA failure.
EnqueueTiming time_enqueue(BackendContext& context, int warmup, int iterations);

// Enqueueing on the caller's CUDA stream (a cudaStream_t passed as void*, so this header stays
// plain C++), like TensorRT's enqueueV3: the inference starts after everything the caller queued
// on `stream` before the call, and work the caller queues afterwards starts after it. Nothing is
// copied and nothing waits on the host: the caller writes the inputs to device_input() and reads
// the outputs from device_output() (float32, row-major, the engine's binding shapes) with its
// own copies or kernels on `stream`. Throws Error for another backend's context or a bad index.
void* device_input(BackendContext& context, std::size_t index);
void* device_output(BackendContext& context, std::size_t index);
void enqueue(BackendContext& context, void* stream);

// Device time of each layer run alone (mean of `repeats` back-to-back launches replayed as one
// CUDA graph, so host launch overhead stays out),
// in execution order; `node` is the graph node (-1 for copies the lowering added), `tactic` the
// implementation chosen for a convolution.
struct LayerProfile {
  int node = -1;
  std::string tactic;
  double ms = 0.0;  // run alone: the mean of `repeats` launches of the layer, replayed as a CUDA graph
  // The replay of the graph's layers up to this one (its prefix in execution order, on the
  // schedule's streams): when the layer is done within a replay. Its rise over the previous
  // layer's is what the layer adds to the critical path, gaps between kernels included.
  double prefix_ms = 0.0;
};
std::vector<LayerProfile> profile_layers(BackendContext& context, int repeats);

// A short description of the context's engine: arena and workspace bytes, step counts, whether
// the CUDA graph is in use and why not.
std::string describe_context(const BackendContext& context);

}  // namespace cuda
}  // namespace detstream::inference
