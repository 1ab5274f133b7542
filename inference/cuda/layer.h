// Layer: one prepared device step of a CudaEngine (a cuDNN convolution, or one of the backend's
// kernels with its parameter block filled in at build time). Layers are immutable after prepare
// and shared by every context of the engine; enqueue() only fills in the context's pointers and
// launches on the context's stream (no allocation, no synchronisation), so it can be captured in
// a CUDA graph. Internal to inference/cuda/.
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "inference/cuda/timing_cache.h"
#include "inference/cuda/kernels.h"
#include "inference/cuda/lowering.h"

namespace detstream::inference::cuda {

// A device address fixed at build time: an engine constant, or an offset into a context's arena.
struct DeviceAddress {
  std::byte* absolute = nullptr;
  std::size_t arena_offset = 0;
  void* in(std::byte* arena) const { return absolute ? absolute : arena + arena_offset; }
};

struct LaunchArgs {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  std::byte* arena = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
  unsigned* tile_counters = nullptr;  // split-K arrival counters: zero between layers
};

class Layer {
 public:
  explicit Layer(int node) : node_(node) {}
  virtual ~Layer() = default;
  virtual void enqueue(const LaunchArgs& args) const = 0;
  virtual std::size_t workspace_bytes() const { return 0; }
  virtual std::size_t tile_counters() const { return 0; }  // split-K counters the layer needs
  virtual bool is_conv() const { return false; }
  virtual std::string tactic() const { return ""; }  // the implementation chosen at build time
  // The tactics the layer can switch between, 0 being the one its own timing chose and the others
  // the runners-up: the engine times them again within the graph and keeps the fastest
  // (CudaEngine::choose_tactics_in_graph). Only while the engine is being built.
  virtual int tactic_count() const { return 1; }
  virtual void select_tactic(int index) { (void)index; }
  // Records the tactic in use in `cache`, for layers that time theirs.
  virtual void record_tactic(TimingCache& cache) const { (void)cache; }
  int node() const { return node_; }  // graph node, -1 for copies the lowering added

 private:
  int node_;
};

// Resolves TensorRefs of one lowered graph to device addresses.
class AddressBook {
 public:
  AddressBook(const LoweredGraph& lowered, std::vector<std::byte*> constant_pointers)
      : lowered_(lowered), constants_(std::move(constant_pointers)) {}
  DeviceAddress address(const TensorRef& ref) const;

 private:
  const LoweredGraph& lowered_;
  std::vector<std::byte*> constants_;  // by root index, nullptr for arena roots
};

// Strides and type of `ref` over `dims` as a kernel operand (data filled in at enqueue).
StridedOperand operand_of(const TensorRef& ref);

std::unique_ptr<Layer> make_elementwise_layer(const Step& step, const AddressBook& book);
std::unique_ptr<Layer> make_maxpool_layer(const Step& step, const Node& node, const AddressBook& book);
std::unique_ptr<Layer> make_resize_layer(const Step& step, const Graph& graph, const AddressBook& book);
std::unique_ptr<Layer> make_softmax_layer(const Step& step, const Node& node, const AddressBook& book);
// The fused detection head (detect_head_layer.cpp): `head` is the lowered graph's heads[step.head].
std::unique_ptr<Layer> make_detect_head_layer(const Step& step, const DetectHead& head, const AddressBook& book);

struct ConvBuild {
  cudnnHandle_t handle = nullptr;  // used to time the algorithms at build time, bound to `stream`
  cudaStream_t stream = nullptr;   // where candidates are timed (captured as a CUDA graph)
  int multiprocessors = 132;
  Precision precision = Precision::kFp16;
  std::size_t workspace_limit = std::size_t{256} << 20;
  TimingCache* timing_cache = nullptr;  // tactics looked up before timing, recorded after; may be null
};
// Throws CudaError when cuDNN has no algorithm for the step's layouts.
std::unique_ptr<Layer> make_conv_layer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build);
// A StepKind::kStemPair step (stem_pair_layer.cpp): one kernel, no tactics to time.
std::unique_ptr<Layer> make_stem_pair_layer(const Step& step, const Graph& graph, const AddressBook& book);

// The epilogue of a convolution or any "y = act(y + bias[c])": bias is float32, channel axis 1.
ElementwiseParams bias_activation_params(const TensorRef& y, bool has_bias, ops::Activation activation);
int kernel_activation(ops::Activation activation);
// y = y + residual (same shape), for convolutions that cannot add it in their own epilogue.
ElementwiseParams residual_add_params(const TensorRef& y, const TensorRef& residual);

}  // namespace detstream::inference::cuda
