#include "inference/cuda/cuda_engine.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/dependent_launch.h"
#include "inference/cuda/graph_timing.h"

namespace detstream::inference::cuda {

namespace {

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::string(v) == value;
}

enum class GraphTacticScope { kAuto, kOff, kPrefix, kWhole };

// Graphs that replay in under this are latency-bound: their layers interact through the launch
// chain and the SMs they share, so tactics are timed within the whole graph, twice over.
constexpr double kShortGraphMs = 1.0;

// DETSTREAM_CUDA_GRAPH_TACTICS: unset (whole graph for short graphs, prefixes otherwise),
// "whole", "prefix", or "0" (choose_tactics_in_graph).
GraphTacticScope graph_tactic_scope() {
  const char* v = std::getenv("DETSTREAM_CUDA_GRAPH_TACTICS");
  if (!v || !*v) return GraphTacticScope::kAuto;
  if (std::string(v) == "whole") return GraphTacticScope::kWhole;
  if (std::string(v) == "prefix") return GraphTacticScope::kPrefix;
  if (std::string(v) == "0") return GraphTacticScope::kOff;
  throw Error(std::string("DETSTREAM_CUDA_GRAPH_TACTICS=") + v + " is not a graph tactic timing (whole, prefix, 0)");
}

// DETSTREAM_CUDA_GRAPH_TACTIC_PASSES=n: how many times the layers are visited; unset: twice for a
// short graph (a choice made early may pay off only after later ones), else once.
int graph_tactic_passes(double graph_ms) {
  const char* v = std::getenv("DETSTREAM_CUDA_GRAPH_TACTIC_PASSES");
  if (v && *v) return std::clamp(std::atoi(v), 1, 8);
  return graph_ms < kShortGraphMs ? 2 : 1;
}

// The timing cache's device key: the GPU's name and compute capability, CUDA runtime and cuDNN
// versions (a tactic's speed depends on all of them).
std::string timing_device_key(int device) {
  cudaDeviceProp properties{};
  DETSTREAM_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  int runtime = 0;
  DETSTREAM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  return std::string(properties.name) + " sm_" + std::to_string(properties.major) + std::to_string(properties.minor) +
         " cuda " + std::to_string(runtime) + " cudnn " + std::to_string(cudnnGetVersion());
}

struct HandleGuard {
  cudnnHandle_t handle = nullptr;
  cudaStream_t stream = nullptr;
  ~HandleGuard() {
    if (handle) cudnnDestroy(handle);
    if (stream) cudaStreamDestroy(stream);
  }
};

std::unique_ptr<Layer> make_layer(const Step& step, const LoweredGraph& lowered, const Graph& graph, const AddressBook& book,
                                  const ConvBuild& build) {
  const Node* node = step.node >= 0 ? &graph.nodes[static_cast<std::size_t>(step.node)] : nullptr;
  switch (step.kind) {
    case StepKind::kConv: return make_conv_layer(step, graph, book, build);
    case StepKind::kStemPair: return make_stem_pair_layer(step, graph, book);
    case StepKind::kElementwise: return make_elementwise_layer(step, book);
    case StepKind::kMaxPool: return make_maxpool_layer(step, *node, book);
    case StepKind::kResize: return make_resize_layer(step, graph, book);
    case StepKind::kSoftmax: return make_softmax_layer(step, *node, book);
    case StepKind::kDetectHead: return make_detect_head_layer(step, lowered.heads[static_cast<std::size_t>(step.head)], book);
  }
  throw Error("internal: unknown step kind");
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Sets the thread's launch priority for a scope (the layers' launches read it).
class ScopedLaunchPriority {
 public:
  explicit ScopedLaunchPriority(int priority) : previous_(launch_priority()) { set_launch_priority(priority); }
  ~ScopedLaunchPriority() { set_launch_priority(previous_); }
  ScopedLaunchPriority(const ScopedLaunchPriority&) = delete;
  ScopedLaunchPriority& operator=(const ScopedLaunchPriority&) = delete;

 private:
  int previous_;
};

}  // namespace

LoweringOptions lowering_options_from_environment() {
  LoweringOptions options;
  if (env_is("DETSTREAM_CUDA_LAYOUT", "nchw")) options.feature_nhwc = false;
  if (env_is("DETSTREAM_CUDA_CONCAT_IN_PLACE", "0")) options.concat_in_place = false;
  options.conv_strided_input = options.conv_strided_output = !env_is("DETSTREAM_CUDA_STRIDED_CONV", "0");
  options.fuse_residual_add = !env_is("DETSTREAM_CUDA_FUSE_ADD", "0");
  options.conv_direct_input = !env_is("DETSTREAM_CUDA_DIRECT_CONV", "0");
  options.fuse_detect_head = !env_is("DETSTREAM_CUDA_FUSE_HEAD", "0");  // A/B of the fused head kernel
  options.fuse_pool_chain = !env_is("DETSTREAM_CUDA_FUSE_POOL", "0");
  options.fuse_stem_pair = !env_is("DETSTREAM_CUDA_FUSE_STEM", "0");
  options.merge_sibling_convs = !env_is("DETSTREAM_CUDA_MERGE_SIBLINGS", "0");
  // DETSTREAM_CUDA_FUSE_UPSAMPLE=0: never fold a Resize into its convolution, =1: whatever its size.
  if (env_is("DETSTREAM_CUDA_FUSE_UPSAMPLE", "0")) options.fuse_upsample_bytes = 0;
  if (env_is("DETSTREAM_CUDA_FUSE_UPSAMPLE", "1")) options.fuse_upsample_bytes = SIZE_MAX;
  return options;
}

// --- CudaEngine -------------------------------------------------------------------------------

CudaEngine::CudaEngine(const Plan& plan, const LoweringOptions& options) : options_(options) {
  std::string why;
  if (!device_available(&why)) throw Error("the cuda backend cannot run here: " + why);
  DETSTREAM_CUDA_CHECK(cudaGetDevice(&device_));
  lowered_ = lower_graph(plan.graph, plan.precision, options);
  node_count_ = plan.graph.nodes.size();
  constants_.resize(lowered_.roots.size());
  std::vector<std::byte*> pointers(lowered_.roots.size(), nullptr);
  for (std::size_t r = 0; r < lowered_.roots.size(); ++r) {
    const Root& root = lowered_.roots[r];
    if (root.kind != RootKind::kConstant) continue;
    const std::vector<float> values = plan.graph.value(root.constant_value).constant->to_float_vector();
    constants_[r] = DeviceBuffer(std::max<std::size_t>(values.size() * sizeof(float), 1));
    constants_[r].upload(values.data(), values.size() * sizeof(float));
    pointers[r] = static_cast<std::byte*>(constants_[r].get());
  }
  const AddressBook book(lowered_, std::move(pointers));
  HandleGuard guard;
  DETSTREAM_CUDA_CHECK(cudnnCreate(&guard.handle));
  DETSTREAM_CUDA_CHECK(cudaStreamCreateWithFlags(&guard.stream, cudaStreamNonBlocking));
  DETSTREAM_CUDA_CHECK(cudnnSetStream(guard.handle, guard.stream));
  ConvBuild build;
  build.handle = guard.handle;
  build.stream = guard.stream;
  build.precision = plan.precision;
  // --workspace: what cuDNN's algorithms and the split-K partials may use (default 256 MiB).
  if (plan.workspace_limit_bytes > 0) build.workspace_limit = plan.workspace_limit_bytes;
  DETSTREAM_CUDA_CHECK(cudaDeviceGetAttribute(&build.multiprocessors, cudaDevAttrMultiProcessorCount, device_));
  // DETSTREAM_CUDA_TIMING_CACHE=FILE: tactics are read from FILE and the file is rewritten with
  // this build's (timing_cache.h). A file that is not a timing cache is left alone.
  const char* cache_path = std::getenv("DETSTREAM_CUDA_TIMING_CACHE");
  std::optional<TimingCache> cache;
  bool cache_writable = false;
  if (cache_path && *cache_path) {
    cache.emplace(timing_device_key(device_));
    cache_writable = cache->load(cache_path, &timing_cache_note_);
    if (cache_writable) build.timing_cache = &*cache;
  }
  for (const Step& step : lowered_.steps) {
    layers_.push_back(make_layer(step, lowered_, plan.graph, book, build));
    workspace_bytes_ = std::max(workspace_bytes_, layers_.back()->workspace_bytes());
    tile_counters_ = std::max(tile_counters_, layers_.back()->tile_counters());
  }
  const char* streams = std::getenv("DETSTREAM_CUDA_STREAMS");
  if (streams && *streams) {
    schedule_ = schedule_streams(lowered_, std::clamp(std::atoi(streams), 1, 16));
  } else {
    choose_stream_count();
  }
  choose_tactics_in_graph(cache_writable ? &*cache : nullptr);
  if (cache_writable) {
    cache->save(cache_path);
    timing_cache_note_ = std::string(cache_path) + ": " + std::to_string(cache->entries_for_this_device()) + " entries for this GPU";
  }
  DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(guard.stream));
  DETSTREAM_CUDA_CHECK(cudaDeviceSynchronize());
}

// How many streams the captured graph spreads the branches over is a tactic of the whole network,
// timed like the layers': on the H200 3 streams were best at batch 1 (0.314 against 0.322 ms with
// 4) and 2 at batch 32 (2.17 against 2.19 ms), bench/cuda/logs/2026-12-02_s5streams.log. Each
// candidate runs in a temporary context (its own arena) as the captured graph it would be.
void CudaEngine::choose_stream_count() {
  constexpr int kCandidates[] = {2, 3, 4};
  if (env_is("DETSTREAM_CUDA_GRAPH", "0")) {  // without a graph the layers run on one stream anyway
    schedule_ = schedule_streams(lowered_, 4);
    return;
  }
  double best = 0.0;
  StreamSchedule chosen;
  for (int streams : kCandidates) {
    schedule_ = schedule_streams(lowered_, streams);
    CudaContext trial(*this);
    const double ms = trial.time(3, 30).median_ms;
    if (chosen.stream.empty() || ms < best) {
      best = ms;
      chosen = schedule_;
    }
  }
  schedule_ = std::move(chosen);
}

// A layer's tactic is timed alone (the layer replayed on itself), but in the graph its kernel
// follows other kernels, overlaps their tails (programmatic launch) and shares the GPU with other
// branches. On the H200 at batch 1, model.5 took 6.5 us alone and 12.8 us of the graph's critical
// path (bench --profile, 2026-12-02_s6prefix logs). So each layer's runners-up are timed again, in
// execution order, within the whole graph's replay, and the fastest stays (and goes into the
// timing cache). The whole graph, not its prefix up to the layer: a branch's kernel also costs the
// later critical-path kernels it shares the GPU with. H200, batch 1, one run: 0.308/0.309/0.308 ms
// with prefixes, 0.2995/0.2987/0.2985 with the whole graph (2026-12-03_s7a logs); a second pass
// over the layers: 0.301/0.302/0.303 -> 0.299/0.298/0.297 (s7b). At batch 32 neither changed the
// graph's time (2.255/2.259 whole, 2.262/2.242 prefix, s7b) while the whole graph made the build
// 4 s longer, so graphs of kShortGraphMs and more keep the prefixes (the sixth session's way).
// DETSTREAM_CUDA_GRAPH_TACTICS=whole or =prefix forces one, =0 keeps the tactics timed alone.
void CudaEngine::choose_tactics_in_graph(TimingCache* cache) {
  constexpr int kReplays = 21;
  constexpr double kMargin = 0.005;
  GraphTacticScope scope = graph_tactic_scope();
  if (env_is("DETSTREAM_CUDA_GRAPH", "0") || scope == GraphTacticScope::kOff) return;
  if (std::none_of(layers_.begin(), layers_.end(), [](const auto& layer) { return layer->tactic_count() > 1; })) return;
  std::vector<int> chosen(layers_.size(), 0);  // index 0: the tactic timed best alone
  CudaContext trial(*this);
  const double graph_ms = trial.time_graph_prefix(layers_.size(), kReplays);
  const int passes = graph_tactic_passes(graph_ms);
  if (scope == GraphTacticScope::kAuto) scope = graph_ms < kShortGraphMs ? GraphTacticScope::kWhole : GraphTacticScope::kPrefix;
  for (int pass = 0; pass < passes; ++pass) {
    for (std::size_t k = 0; k < layers_.size(); ++k) {
      Layer& layer = *layers_[k];
      if (layer.tactic_count() <= 1) continue;
      const std::size_t timed_layers = scope == GraphTacticScope::kWhole ? layers_.size() : k + 1;
      auto time_with = [&](int t) {
        layer.select_tactic(t);
        return trial.time_graph_prefix(timed_layers, kReplays);
      };
      int best = chosen[k];
      double best_ms = time_with(best);
      for (int t = 0; t < layer.tactic_count(); ++t) {
        if (t == chosen[k]) continue;
        // A runner-up must win by more than the replays' noise (0.5%, ~1.5 us at batch 1): where
        // the layer costs the graph nothing, every tactic ties and the one chosen stays.
        if (const double ms = time_with(t); ms < best_ms * (1.0 - kMargin)) best = t, best_ms = ms;
      }
      layer.select_tactic(best);
      chosen[k] = best;
    }
  }
  if (cache)
    for (const auto& layer : layers_)
      if (layer->tactic_count() > 1) layer->record_tactic(*cache);
}

std::unique_ptr<BackendContext> CudaEngine::create_context() const { return std::make_unique<CudaContext>(*this); }

// --- CudaContext ------------------------------------------------------------------------------

CudaContext::CudaContext(const CudaEngine& engine) : engine_(engine) {
  try {
    initialise();
  } catch (...) {
    release();
    throw;
  }
}

void CudaContext::initialise() {
  const CudaEngine& engine = engine_;
  DETSTREAM_CUDA_CHECK(cudaSetDevice(engine.device()));
  DETSTREAM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  DETSTREAM_CUDA_CHECK(cudnnCreate(&cudnn_));
  DETSTREAM_CUDA_CHECK(cudnnSetStream(cudnn_, stream_));
  const LoweredGraph& lowered = engine.lowered();
  arena_ = DeviceBuffer(std::max<std::size_t>(lowered.arena_bytes, 1));
  // NaN everywhere (0xFF bytes in fp16 and fp32): a read of memory nothing wrote shows in outputs.
  // On this context's own stream: a non-blocking stream does not wait for the legacy default one.
  DETSTREAM_CUDA_CHECK(cudaMemsetAsync(arena_.get(), 0xFF, arena_.size(), stream_));
  DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  branch_streams_.push_back(stream_);
  branch_cudnn_.push_back(cudnn_);
  for (int s = 1; s < engine.schedule().streams; ++s) {
    branch_streams_.push_back(nullptr);
    DETSTREAM_CUDA_CHECK(cudaStreamCreateWithFlags(&branch_streams_.back(), cudaStreamNonBlocking));
    branch_cudnn_.push_back(nullptr);
    DETSTREAM_CUDA_CHECK(cudnnCreate(&branch_cudnn_.back()));
    DETSTREAM_CUDA_CHECK(cudnnSetStream(branch_cudnn_.back(), branch_streams_.back()));
  }
  for (int s = 0; s < engine.schedule().streams; ++s) {
    workspaces_.emplace_back(engine.workspace_bytes());
    // Split-K layers leave their counters at zero again, so they are zeroed only here.
    tile_counters_.emplace_back(engine.tile_counters() * sizeof(unsigned));
    if (tile_counters_.back().size()) {
      DETSTREAM_CUDA_CHECK(cudaMemsetAsync(tile_counters_.back().get(), 0, tile_counters_.back().size(), stream_));
    }
  }
  DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (const TensorRef& in : lowered.input_staging) pinned_inputs_.emplace_back(static_cast<std::size_t>(in.count()) * sizeof(float));
  for (const TensorRef& out : lowered.output_staging) pinned_outputs_.emplace_back(static_cast<std::size_t>(out.count()) * sizeof(float));
  DETSTREAM_CUDA_CHECK(cudaEventCreateWithFlags(&caller_ready_, cudaEventDisableTiming));
  DETSTREAM_CUDA_CHECK(cudaEventCreateWithFlags(&layers_done_, cudaEventDisableTiming));
  events_.resize(engine.layers().size() + 1, nullptr);
  for (cudaEvent_t& e : events_) DETSTREAM_CUDA_CHECK(cudaEventCreate(&e));
  node_times_.assign(engine.node_count(), 0.0);
  if (env_is("DETSTREAM_CUDA_GRAPH", "0")) {
    graph_enabled_ = false;
    graph_note_ = "off (DETSTREAM_CUDA_GRAPH=0)";
  }
  priorities_enabled_ = !env_is("DETSTREAM_CUDA_PRIORITY", "0");
  DETSTREAM_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least_priority_, &greatest_priority_));
}

// In the captured graph the critical path's kernels (slack 0) run at the device's greatest
// priority and each kernel of slack s s levels lower, down to the default: when SMs free up the
// block scheduler gives them to the chain that bounds the latency before a side branch (at batch
// 1 the 80x80 head's kernels otherwise fill the GPU while the neck's small ones wait).
// DETSTREAM_CUDA_PRIORITY=0 leaves every kernel at the default.
int CudaContext::priority_of(int slack) const {
  if (!priorities_enabled_) return 0;
  return std::min(least_priority_, greatest_priority_ + std::max(slack, 0));
}

CudaContext::~CudaContext() { release(); }

void CudaContext::release() {
  if (stream_) cudaStreamSynchronize(stream_);
  if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
  for (cudaEvent_t e : events_)
    if (e) cudaEventDestroy(e);
  if (caller_ready_) cudaEventDestroy(caller_ready_);
  if (layers_done_) cudaEventDestroy(layers_done_);
  caller_ready_ = layers_done_ = nullptr;
  for (std::size_t s = 1; s < branch_streams_.size(); ++s) {
    if (branch_cudnn_[s]) cudnnDestroy(branch_cudnn_[s]);
    if (branch_streams_[s]) cudaStreamDestroy(branch_streams_[s]);
  }
  branch_streams_.clear();
  branch_cudnn_.clear();
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) cudaStreamDestroy(stream_);
  graph_exec_ = nullptr;
  events_.clear();
  cudnn_ = nullptr;
  stream_ = nullptr;
}

LaunchArgs CudaContext::launch_args(std::size_t stream) const {
  LaunchArgs args;
  args.stream = branch_streams_[stream];
  args.cudnn = branch_cudnn_[stream];
  args.arena = static_cast<std::byte*>(arena_.get());
  args.workspace = workspaces_[stream].get();
  args.workspace_bytes = workspaces_[stream].size();
  args.tile_counters = static_cast<unsigned*>(tile_counters_[stream].get());
  return args;
}

void CudaContext::copy_inputs_to_device() {
  for (std::size_t i = 0; i < pinned_inputs_.size(); ++i) {
    DETSTREAM_CUDA_CHECK(cudaMemcpyAsync(staging_address(i, true), pinned_inputs_[i].get(), pinned_inputs_[i].size(),
                                         cudaMemcpyHostToDevice, stream_));
  }
}

void CudaContext::copy_outputs_to_host() {
  for (std::size_t o = 0; o < pinned_outputs_.size(); ++o) {
    DETSTREAM_CUDA_CHECK(cudaMemcpyAsync(pinned_outputs_[o].get(), staging_address(o, false), pinned_outputs_[o].size(),
                                         cudaMemcpyDeviceToHost, stream_));
  }
}

void CudaContext::enqueue_layers(bool with_events) {
  const LaunchArgs args = launch_args();
  const auto& layers = engine_.layers();
  for (std::size_t k = 0; k < layers.size(); ++k) {
    if (with_events) DETSTREAM_CUDA_CHECK(cudaEventRecord(events_[k], stream_));
    layers[k]->enqueue(args);
  }
  if (with_events) DETSTREAM_CUDA_CHECK(cudaEventRecord(events_.back(), stream_));
}

// events_[k + 1] marks the end of layer k (the profiling events, unused while capturing): a layer
// waits for its dependencies on other streams; every stream joins stream_ at the end, so the
// output copies that follow the replay see all of them.
void CudaContext::enqueue_branches(std::size_t count) {
  const StreamSchedule& schedule = engine_.schedule();
  const auto& layers = engine_.layers();
  DETSTREAM_CUDA_CHECK(cudaEventRecord(events_[0], stream_));
  for (std::size_t s = 1; s < branch_streams_.size(); ++s) DETSTREAM_CUDA_CHECK(cudaStreamWaitEvent(branch_streams_[s], events_[0], 0));
  std::vector<int> tail(branch_streams_.size(), -1);
  for (std::size_t k = 0; k < std::min(count, layers.size()); ++k) {
    const std::size_t s = static_cast<std::size_t>(schedule.stream[k]);
    for (const int d : schedule.waits[k]) DETSTREAM_CUDA_CHECK(cudaStreamWaitEvent(branch_streams_[s], events_[static_cast<std::size_t>(d) + 1], 0));
    const ScopedLaunchPriority priority(priority_of(schedule.slack[k]));
    layers[k]->enqueue(launch_args(s));
    DETSTREAM_CUDA_CHECK(cudaEventRecord(events_[k + 1], branch_streams_[s]));
    tail[s] = static_cast<int>(k);
  }
  for (std::size_t s = 1; s < branch_streams_.size(); ++s) {
    if (tail[s] >= 0) DETSTREAM_CUDA_CHECK(cudaStreamWaitEvent(stream_, events_[static_cast<std::size_t>(tail[s]) + 1], 0));
  }
}

void CudaContext::capture_graph() {
  cudaGraph_t graph = nullptr;
  DETSTREAM_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  std::string failure;
  try {
    enqueue_branches();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
  if (failure.empty() && ended != cudaSuccess) failure = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(ended);
  if (failure.empty()) {
    const cudaError_t made = cudaGraphInstantiate(&graph_exec_, graph, cudaGraphInstantiateFlagUseNodePriority);
    if (made != cudaSuccess) failure = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(made);
  }
  if (graph) cudaGraphDestroy(graph);
  if (!failure.empty()) {
    (void)cudaGetLastError();  // clear the sticky-free error the failed capture left
    graph_exec_ = nullptr;
    graph_enabled_ = false;
    graph_note_ = "off (capture failed: " + failure + ")";
  } else {
    graph_note_ = "on";
  }
}

void CudaContext::run_layers() {
  if (profiling_) return enqueue_layers(true);
  if (graph_enabled_ && !graph_exec_) capture_graph();
  if (graph_exec_) {
    DETSTREAM_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream_));
  } else {
    enqueue_layers(false);
  }
}

void* CudaContext::staging_address(std::size_t index, bool input) {
  const LoweredGraph& lowered = engine_.lowered();
  const std::vector<TensorRef>& staging = input ? lowered.input_staging : lowered.output_staging;
  if (index >= staging.size()) {
    throw Error(std::string(input ? "input " : "output ") + std::to_string(index) + " does not exist: the engine has " +
                std::to_string(staging.size()));
  }
  const TensorRef& ref = staging[index];
  return static_cast<std::byte*>(arena_.get()) + lowered.roots[static_cast<std::size_t>(ref.root)].arena_offset +
         static_cast<std::size_t>(ref.offset) * sizeof(float);
}

void CudaContext::enqueue_on(cudaStream_t caller) {
  DETSTREAM_CUDA_CHECK(cudaSetDevice(engine_.device()));
  DETSTREAM_CUDA_CHECK(cudaEventRecord(caller_ready_, caller));
  DETSTREAM_CUDA_CHECK(cudaStreamWaitEvent(stream_, caller_ready_, 0));
  run_layers();
  DETSTREAM_CUDA_CHECK(cudaEventRecord(layers_done_, stream_));
  DETSTREAM_CUDA_CHECK(cudaStreamWaitEvent(caller, layers_done_, 0));
}

Status CudaContext::execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) {
  try {
    DETSTREAM_CUDA_CHECK(cudaSetDevice(engine_.device()));
    for (std::size_t i = 0; i < inputs.size(); ++i) std::memcpy(pinned_inputs_[i].get(), inputs[i].data, pinned_inputs_[i].size());
    copy_inputs_to_device();
    run_layers();
    copy_outputs_to_host();
    DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (profiling_) {
      std::fill(node_times_.begin(), node_times_.end(), 0.0);
      const auto& layers = engine_.layers();
      for (std::size_t k = 0; k < layers.size(); ++k) {
        float ms = 0.0f;
        DETSTREAM_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[k], events_[k + 1]));
        if (layers[k]->node() >= 0) node_times_[static_cast<std::size_t>(layers[k]->node())] += ms;
      }
    }
    for (std::size_t o = 0; o < outputs.size(); ++o) std::memcpy(outputs[o].data, pinned_outputs_[o].get(), pinned_outputs_[o].size());
  } catch (const std::exception& e) {
    return Status::error(std::string("cuda backend: ") + e.what());
  }
  return Status::ok();
}

EnqueueTiming CudaContext::time(int warmup, int iterations) {
  DETSTREAM_CUDA_CHECK(cudaSetDevice(engine_.device()));
  const bool was_profiling = profiling_;
  profiling_ = false;
  cudaEvent_t begin = nullptr, end = nullptr;
  DETSTREAM_CUDA_CHECK(cudaEventCreate(&begin));
  DETSTREAM_CUDA_CHECK(cudaEventCreate(&end));
  EnqueueTiming timing;
  try {
    for (int i = 0; i < std::max(warmup, 1); ++i) {
      copy_inputs_to_device();
      run_layers();
      copy_outputs_to_host();
      DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
    std::vector<double> layers_ms, total_ms;
    for (int i = 0; i < iterations; ++i) {
      DETSTREAM_CUDA_CHECK(cudaEventRecord(begin, stream_));
      run_layers();
      DETSTREAM_CUDA_CHECK(cudaEventRecord(end, stream_));
      DETSTREAM_CUDA_CHECK(cudaEventSynchronize(end));
      float ms = 0.0f;
      DETSTREAM_CUDA_CHECK(cudaEventElapsedTime(&ms, begin, end));
      layers_ms.push_back(ms);
    }
    for (int i = 0; i < iterations; ++i) {
      DETSTREAM_CUDA_CHECK(cudaEventRecord(begin, stream_));
      copy_inputs_to_device();
      run_layers();
      copy_outputs_to_host();
      DETSTREAM_CUDA_CHECK(cudaEventRecord(end, stream_));
      DETSTREAM_CUDA_CHECK(cudaEventSynchronize(end));
      float ms = 0.0f;
      DETSTREAM_CUDA_CHECK(cudaEventElapsedTime(&ms, begin, end));
      total_ms.push_back(ms);
    }
    timing.iterations = iterations;
    timing.median_ms = median(layers_ms);
    timing.min_ms = layers_ms.empty() ? 0.0 : *std::min_element(layers_ms.begin(), layers_ms.end());
    timing.with_copies_median_ms = median(total_ms);
    timing.graph = graph_exec_ != nullptr;
  } catch (...) {
    cudaEventDestroy(begin);
    cudaEventDestroy(end);
    profiling_ = was_profiling;
    throw;
  }
  cudaEventDestroy(begin);
  cudaEventDestroy(end);
  profiling_ = was_profiling;
  return timing;
}

std::string CudaContext::describe() const {
  std::size_t convs = 0, igemm = 0, split = 0, direct = 0, halo = 0, pointwise = 0, stem_pairs = 0, pool_chains = 0;
  for (const auto& layer : engine_.layers()) {
    const std::string tactic = layer->tactic();
    const bool stem_pair = tactic.rfind("stem pair", 0) == 0;  // two convolutions in one layer
    stem_pairs += stem_pair ? 1 : 0;
    convs += layer->is_conv() ? (stem_pair ? 2 : 1) : 0;
    igemm += tactic.rfind("igemm", 0) == 0 ? 1 : 0;
    split += tactic.find("splitk") != std::string::npos ? 1 : 0;
    direct += tactic.rfind("direct", 0) == 0 ? 1 : 0;
    halo += tactic.rfind("halo", 0) == 0 ? 1 : 0;
    pointwise += tactic.rfind("pointwise", 0) == 0 ? 1 : 0;
    pool_chains += tactic.find("chained, one kernel") != std::string::npos ? 1 : 0;
  }
  int upsamplings = 0;
  for (const Step& step : engine_.lowered().steps) upsamplings += step.upsampled.valid() ? 1 : 0;
  const LoweringOptions& o = engine_.options();
  std::ostringstream text;
  text << "arena " << engine_.lowered().arena_bytes << " bytes, workspace " << engine_.workspace_bytes() << " bytes, "
       << engine_.layers().size() << " layers (" << convs << " convolutions: " << igemm << " implicit-GEMM kernel (" << split << " split-K), "
       << halo << " halo-tile, " << pointwise << " pointwise, " << direct << " direct, " << 2 * stem_pairs << " in " << stem_pairs << " fused stem pair"
       << (stem_pairs == 1 ? "" : "s") << ", " << convs - igemm - halo - pointwise - direct - 2 * stem_pairs << " cuDNN), layout "
       << (o.feature_nhwc ? "NHWC" : "NCHW") << ", concat in place " << (o.concat_in_place ? "on" : "off")
       << ", strided conv " << (o.conv_strided_input ? "on" : "off") << ", CUDA graph "
       << (graph_note_.empty() ? (graph_enabled_ ? "not captured yet" : "off") : graph_note_) << " on "
       << engine_.schedule().streams << (engine_.schedule().streams == 1 ? " stream" : " streams")
       << ", critical path first " << (priorities_enabled_ && least_priority_ != greatest_priority_ ? "on" : "off")
       << ", programmatic launch " << (programmatic_launch_enabled() ? "on" : "off") << ", detection head "
       << (engine_.lowered().heads.empty() ? "per node" : "fused") << ", " << pool_chains << " pool chain"
       << (pool_chains == 1 ? "" : "s") << " in one kernel, " << upsamplings << " upsampling" << (upsamplings == 1 ? "" : "s")
       << " in a conv epilogue";
  if (!engine_.timing_cache_note().empty()) text << ", timing cache " << engine_.timing_cache_note();
  return text.str();
}

}  // namespace detstream::inference::cuda

namespace detstream::inference::cuda {

double CudaContext::time_graph_prefix(std::size_t layers, int replays) {
  std::vector<float> times = time_graph_replays(stream_, [&] { enqueue_branches(layers); }, replays);
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

std::vector<LayerProfile> CudaContext::profile_layers(int repeats) {
  DETSTREAM_CUDA_CHECK(cudaSetDevice(engine_.device()));
  copy_inputs_to_device();
  enqueue_layers(false);
  DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const LaunchArgs args = launch_args();
  const int launches = std::max(repeats, 1);
  std::vector<LayerProfile> profile;
  // Each layer's `repeats` launches are captured as one CUDA graph and replayed (graph_timing.h).
  for (const auto& layer : engine_.layers()) {
    const float ms = time_graph_replays(
        stream_,
        [&] {
          for (int i = 0; i < launches; ++i) layer->enqueue(args);
        },
        1)[0];
    profile.push_back({layer->node(), layer->tactic(), ms / static_cast<float>(launches)});
  }
  for (std::size_t k = 0; k < profile.size(); ++k) profile[k].prefix_ms = time_graph_prefix(k + 1, 21);
  return profile;
}

}  // namespace detstream::inference::cuda
