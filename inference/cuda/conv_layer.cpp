// Convolution layers. Five implementations, chosen per layer at build time by timing the
// candidates on this GPU (tactic selection, like TensorRT's), each timed as a replayed CUDA
// graph of 10 launches so that launch overhead does not hide a kernel's own time:
// - the backend's implicit-GEMM tensor-core kernel (conv_igemm.cu) for fp16 NHWC with channel
//   counts multiple of 8: bias, activation and residual fused, any pixel stride, so inputs can be
//   channel slices and outputs can be written into a concatenation; its tactics are a tile shape
//   and a split-K count (split-K only where the output tiles alone do not fill the GPU);
// - the halo-tile kernel (conv_halo.cu) for the 3x3 layers with padding 1 and stride 1 or 2 (C a
//   multiple of 16): same operands and epilogue, each input window staged once per channel chunk;
// - the streaming pointwise kernel (conv_pointwise.cu) for 1x1 layers with up to 128 input
//   channels: same operands and epilogue, persistent CTAs that keep their weights;
// - the direct kernel (conv_direct.cu) for few input channels, reading the input in any layout;
// - cuDNN's convolution API (NHWC or NCHW; fp16 data on tensor cores with float accumulation, or
//   fp32 with FMA math: no TF32), its algorithm found by cudnnFindConvolutionForwardAlgorithm,
//   followed by one bias + activation epilogue kernel (and a residual add when there is one). (The legacy API is deprecated in cuDNN 9
//   but shipped; its graph API with a fused epilogue is a later step.)
// DETSTREAM_CUDA_CONV=cudnn|igemm|halo|pointwise forces one where it applies (tests, comparisons;
// igemm excludes the halo and pointwise kernels, halo and pointwise fall back to the implicit GEMM
// where they do not apply);
// DETSTREAM_CUDA_HALO=name forces one halo-tile variant;
// DETSTREAM_CUDA_SPLIT_K=n forces the implicit GEMM's split count.
// With a timing cache (timing_cache.h) a layer whose signature was timed before on this device
// adopts the recorded tactic (cuDNN's algorithm included: no cudnnFind) instead of timing; forced
// choices bypass the cache.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/device_memory.h"
#include "inference/cuda/graph_timing.h"
#include "inference/cuda/layer.h"
#include "inference/cuda/weight_layout.h"
#include "inference/ops/conv_geometry.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace detstream::inference::cuda {

namespace {

cudnnDataType_t cudnn_type(DataType dtype) { return dtype == DataType::kFloat16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

void describe_tensor(cudnnTensorDescriptor_t desc, const TensorRef& ref) {
  const auto& s = ref.shape;
  const int n = static_cast<int>(s[0]), c = static_cast<int>(s[1]), h = static_cast<int>(s[2]), w = static_cast<int>(s[3]);
  if (is_packed_nhwc(ref)) {
    DETSTREAM_CUDA_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NHWC, cudnn_type(ref.dtype), n, c, h, w));
  } else if (is_packed_row_major(ref)) {
    DETSTREAM_CUDA_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, cudnn_type(ref.dtype), n, c, h, w));
  } else {
    const auto& st = ref.strides;
    DETSTREAM_CUDA_CHECK(cudnnSetTensor4dDescriptorEx(desc, cudnn_type(ref.dtype), n, c, h, w, static_cast<int>(st[0]),
                                                      static_cast<int>(st[1]), static_cast<int>(st[2]), static_cast<int>(st[3])));
  }
}

// Elements from the first to one past the last element a view touches.
std::size_t extent(const TensorRef& ref) {
  std::int64_t last = 0;
  for (std::size_t d = 0; d < ref.shape.size(); ++d) last += (ref.shape[d] - 1) * ref.strides[d];
  return static_cast<std::size_t>(last + 1);
}

// Mean device time of one `run` on `stream`: ten runs captured as a CUDA graph, replayed once to
// warm up and then three times (best of three).
float time_ms(cudaStream_t stream, const std::function<void()>& run) {
  constexpr int kRuns = 10;
  const std::vector<float> times = time_graph_replays(
      stream,
      [&] {
        for (int i = 0; i < kRuns; ++i) run();
      },
      3);
  return *std::min_element(times.begin(), times.end()) / kRuns;
}

std::string forced_implementation() {
  const char* v = std::getenv("DETSTREAM_CUDA_CONV");
  return v ? v : "";
}

// DETSTREAM_CUDA_SPLIT_K=n makes the implicit GEMM split its depth n ways wherever it runs
// (tests of the split-K reduction); 0 or unset: chosen by timing.
int forced_split_k() {
  const char* v = std::getenv("DETSTREAM_CUDA_SPLIT_K");
  return v ? std::max(0, std::atoi(v)) : 0;
}

// DETSTREAM_CUDA_SPLIT_K_REDUCE=global sums every split-K's partials through global memory (the
// reduction before clusters: A/B runs and tests); unset or "cluster": in the cluster's shared
// memory wherever the split count allows (kernels.h).
bool split_k_reduces_in_cluster() {
  const char* v = std::getenv("DETSTREAM_CUDA_SPLIT_K_REDUCE");
  if (!v || !*v || std::string(v) == "cluster") return true;
  if (std::string(v) == "global") return false;
  throw Error(std::string("DETSTREAM_CUDA_SPLIT_K_REDUCE=") + v + " is not a split-K reduction (cluster, global)");
}

// The variant an environment variable names (`what` lists the valid names in the error), -1 when
// unset: DETSTREAM_CUDA_TILE=128x64x64 (a conv_tile_name), DETSTREAM_CUDA_HALO=halo16x16n64 (a
// conv_halo_name), DETSTREAM_CUDA_POINTWISE="pointwise n32" (a conv_pointwise_name) and
// DETSTREAM_CUDA_DIRECT="direct 4-pixel" (a conv_direct_name) keep only that
// variant of their kernel wherever it runs (tests of every variant); unset: chosen by timing.
int forced_variant(const char* variable, int count, const char* (*name)(int), const char* what) {
  const char* v = std::getenv(variable);
  if (!v || !*v) return -1;
  std::string names;
  for (int variant = 0; variant < count; ++variant) {
    if (std::string(name(variant)) == v) return variant;
    names += std::string(variant ? ", " : "") + name(variant);
  }
  throw Error(std::string(variable) + "=" + v + " is not a " + what + " (" + names + ")");
}
// How many tactics timed alone the graph timing may try per layer (its first choice included),
// and how much slower alone than the best they may be.
struct RunnersUp {
  float slack = 1.3f;
  std::size_t count = 4;
};
RunnersUp runners_up() {
  RunnersUp limit;
  const char* v = std::getenv("DETSTREAM_CUDA_RUNNERS_UP");
  if (!v || !*v) return limit;
  float slack = 0.0f;
  int count = 0;
  if (std::sscanf(v, "%f,%d", &slack, &count) != 2 || slack < 1.0f || count < 1) {
    throw Error(std::string("DETSTREAM_CUDA_RUNNERS_UP=") + v + " is not \"slack,count\" (slack >= 1, count >= 1; default 1.3,4)");
  }
  limit.slack = slack;
  limit.count = static_cast<std::size_t>(count);
  return limit;
}

int forced_tile() { return forced_variant("DETSTREAM_CUDA_TILE", kConvTileCount, conv_tile_name, "tile of the implicit GEMM"); }
int forced_halo() { return forced_variant("DETSTREAM_CUDA_HALO", kConvHaloCount, conv_halo_name, "halo-tile variant"); }
int forced_direct() { return forced_variant("DETSTREAM_CUDA_DIRECT", kConvDirectCount, conv_direct_name, "direct-conv variant"); }
int forced_pointwise() {
  return forced_variant("DETSTREAM_CUDA_POINTWISE", kConvPointwiseCount, conv_pointwise_name, "pointwise variant");
}

// Values are stored in timing caches: append only.
enum class Implementation { kCudnn, kIgemm, kDirect, kHalo, kPointwise };

// Split-K counts tried for the implicit GEMM (each collapses to what the depth allows).
constexpr int kSplitCandidates[] = {1, 2, 3, 4, 6, 8, 12, 16};
constexpr std::size_t kMaxPartialsBytes = std::size_t{64} << 20;

// Scratch a split-K tactic may use for its fp32 partials: the build's workspace limit
// (--workspace) applies to them as it does to cuDNN's workspace.
std::size_t partials_limit(const ConvBuild& build) { return std::min(kMaxPartialsBytes, build.workspace_limit); }

class ConvLayer final : public Layer {
 public:
  ConvLayer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build) : Layer(step.node) {
    const Node& node = graph.nodes[static_cast<std::size_t>(step.node)];
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    where_ = graph.describe(node);
    nhwc_ = !is_packed_row_major(y) && y.strides[1] == 1;
    half_ = y.dtype == DataType::kFloat16;
    const Tensor& w = *graph.value(node.inputs[1]).constant;
    geometry_ = ops::resolve_window(node, x.shape, {w.shape()[2], w.shape()[3]}, false);
    if (geometry_.pads_begin != geometry_.pads_end) throw Error(where_ + ": asymmetric padding is not supported by cuDNN");
    group_ = static_cast<int>(node.attr_int("group", 1));
    has_bias_ = node.has_input(2);
    if (has_bias_) {
      const std::vector<float> bias = graph.value(node.inputs[2]).constant->to_float_vector();
      bias_ = DeviceBuffer(bias.size() * sizeof(float));
      bias_.upload(bias.data(), bias.size() * sizeof(float));
    }
    x_ = book.address(x);
    y_ = book.address(y);
    if (step.inputs.size() > 1) {
      has_residual_ = true;
      residual_ = book.address(step.inputs[1]);
      residual_add_ = residual_add_params(y, step.inputs[1]);
    }
    if (step.upsampled.valid()) {
      has_upsampled_ = true;
      upsampled_ = book.address(step.upsampled);
    }
    activation_ = step.activation;
    if (has_bias_ || activation_ != ops::Activation::kNone) epilogue_ = bias_activation_params(y, has_bias_, activation_);
    choose_tactic(step, w, build);
  }

  ~ConvLayer() override {
    if (conv_desc_) cudnnDestroyConvolutionDescriptor(conv_desc_);
    if (w_desc_) cudnnDestroyFilterDescriptor(w_desc_);
    if (y_desc_) cudnnDestroyTensorDescriptor(y_desc_);
    if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
  }

  void enqueue(const LaunchArgs& args) const override {
    const void* residual = has_residual_ ? residual_.in(args.arena) : nullptr;
    void* upsampled = has_upsampled_ ? upsampled_.in(args.arena) : nullptr;
    run(args.stream, args.cudnn, x_.in(args.arena), residual, y_.in(args.arena), upsampled, args.workspace, args.tile_counters);
  }
  std::size_t workspace_bytes() const override {
    if (implementation_ == Implementation::kCudnn) return workspace_;
    return implementation_ == Implementation::kIgemm ? conv_igemm_partials_bytes(igemm_, tile_, splits_) : 0;
  }
  std::size_t tile_counters() const override {
    if (implementation_ != Implementation::kIgemm || conv_igemm_partials_bytes(igemm_, tile_, splits_) == 0) return 0;
    return static_cast<std::size_t>(conv_igemm_output_tiles(igemm_, tile_));
  }
  bool is_conv() const override { return true; }
  int tactic_count() const override { return static_cast<int>(std::max<std::size_t>(ranked_.size(), 1)); }
  void select_tactic(int index) override {
    if (index >= 0 && static_cast<std::size_t>(index) < ranked_.size()) adopt(ranked_[static_cast<std::size_t>(index)]);
  }
  void record_tactic(TimingCache& cache) const override {
    if (!signature_.empty()) cache.insert(signature_, cached_tactic());
  }
  std::string tactic() const override {
    switch (implementation_) {
      case Implementation::kIgemm: {
        const int splits = conv_igemm_effective_splits(igemm_, tile_, splits_);
        return std::string("igemm ") + conv_tile_name(tile_) + (splits > 1 ? " splitk " + std::to_string(splits) : "");
      }
      case Implementation::kDirect: return conv_direct_name(tile_);
      case Implementation::kHalo: return conv_halo_name(tile_);
      case Implementation::kPointwise: return conv_pointwise_name(tile_);
      case Implementation::kCudnn: break;
    }
    return "cudnn algo " + std::to_string(static_cast<int>(algorithm_));
  }

 private:
  // `upsampled`: Step::upsampled's address, written by the implicit-GEMM and pointwise kernels
  // only (the candidates of a layer that has one).
  void run(cudaStream_t stream, cudnnHandle_t handle, const void* x, const void* residual, void* y, void* upsampled,
           void* workspace, unsigned* counters) const {
    if (implementation_ == Implementation::kIgemm || implementation_ == Implementation::kHalo ||
        implementation_ == Implementation::kPointwise) {
      ConvIgemmParams p = igemm_;  // the halo and pointwise kernels take the same operands (no split-K scratch)
      p.x = x;
      p.y = y;
      p.residual = residual;
      p.y_up = upsampled;
      p.w = weights_.get();
      p.bias = has_bias_ ? static_cast<const float*>(bias_.get()) : nullptr;
      if (implementation_ == Implementation::kHalo) return launch_conv_halo(p, tile_, stream);
      if (implementation_ == Implementation::kPointwise) return launch_conv_pointwise(p, tile_, stream);
      p.partials = static_cast<float*>(workspace);
      p.tile_counters = counters;
      return launch_conv_igemm(p, tile_, splits_, stream);
    }
    if (implementation_ == Implementation::kDirect) {
      ConvDirectParams p = direct_;
      p.x.data = const_cast<void*>(x);
      p.y = y;
      p.w = static_cast<const float*>(direct_weights_.get());
      p.bias = has_bias_ ? static_cast<const float*>(bias_.get()) : nullptr;
      launch_conv_direct(p, tile_, stream);
      return;
    }
    const float alpha = 1.0f, beta = 0.0f;
    DETSTREAM_CUDA_CHECK(cudnnConvolutionForward(handle, &alpha, x_desc_, x, w_desc_, weights_.get(), conv_desc_, algorithm_,
                                                 workspace, workspace_, &beta, y_desc_, y));
    if (epilogue_.count > 0) {
      ElementwiseParams p = epilogue_;
      p.a.data = y;
      p.b.data = bias_.get();
      p.y.data = y;
      launch_elementwise(p, stream);
    }
    if (residual) {
      ElementwiseParams p = residual_add_;
      p.a.data = y;
      p.b.data = const_cast<void*>(residual);
      p.y.data = y;
      launch_elementwise(p, stream);
    }
  }

  void upload_weights(const Tensor& w) {
    const std::vector<float> values = conv_weights(w, nhwc_);
    if (half_) {
      const std::vector<std::uint16_t> packed = to_half(values);
      weights_ = DeviceBuffer(packed.size() * sizeof(std::uint16_t));
      weights_.upload(packed.data(), packed.size() * sizeof(std::uint16_t));
    } else {
      weights_ = DeviceBuffer(values.size() * sizeof(float));
      weights_.upload(values.data(), values.size() * sizeof(float));
    }
  }

  bool igemm_applies(const Step& step, const Shape& w) const {
    const TensorRef& x = step.inputs[0];
    // The epilogue stores channel pairs, so K need only be even (the 2-class head's last convs).
    return half_ && nhwc_ && group_ == 1 && x.dtype == DataType::kFloat16 && w[1] % 8 == 0 && w[0] % 2 == 0 &&
           vector_aligned(x) && pair_aligned(step.output) && (!has_residual_ || pair_aligned(step.inputs[1]));
  }

  bool direct_applies(const Step& step, const Shape& w) const {
    // The kernel's input offsets are 32-bit.
    return half_ && nhwc_ && group_ == 1 && !has_residual_ && !has_upsampled_ && step.inputs[0].shape.size() == 4 &&
           extent(step.inputs[0]) < (std::size_t{1} << 31) && vector_aligned(step.output) &&
           conv_direct_supported(static_cast<int>(w[1]), static_cast<int>(w[0]), static_cast<int>(w[2]), static_cast<int>(w[3]));
  }

  bool cudnn_applies(const Step& step) const {
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    return !has_upsampled_ && x.dtype == y.dtype && (is_packed_row_major(x) == is_packed_row_major(y));
  }

  void fill_geometry(const TensorRef& x, const TensorRef& y, const Shape& w, int& n, int& c, int& h, int& w_in, int& k, int& r,
                     int& s, int& out_h, int& out_w) const {
    n = static_cast<int>(x.shape[0]);
    c = static_cast<int>(x.shape[1]);
    h = static_cast<int>(x.shape[2]);
    w_in = static_cast<int>(x.shape[3]);
    k = static_cast<int>(w[0]);
    r = static_cast<int>(w[2]);
    s = static_cast<int>(w[3]);
    out_h = static_cast<int>(y.shape[2]);
    out_w = static_cast<int>(y.shape[3]);
  }

  template <typename Params>
  void fill_window(Params& p) const {
    p.stride_h = static_cast<int>(geometry_.strides[0]);
    p.stride_w = static_cast<int>(geometry_.strides[1]);
    p.pad_h = static_cast<int>(geometry_.pads_begin[0]);
    p.pad_w = static_cast<int>(geometry_.pads_begin[1]);
    p.dilation_h = static_cast<int>(geometry_.dilations[0]);
    p.dilation_w = static_cast<int>(geometry_.dilations[1]);
    p.activation = kernel_activation(activation_);
  }

  void setup_igemm(const Step& step, const Shape& w) {
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    ConvIgemmParams& p = igemm_;
    fill_geometry(x, y, w, p.n, p.c, p.h, p.w_in, p.k, p.r, p.s, p.out_h, p.out_w);
    fill_window(p);
    p.x_sn = x.strides[0];
    p.x_sh = x.strides[2];
    p.x_sw = x.strides[3];
    p.y_sn = y.strides[0];
    p.y_sh = y.strides[2];
    p.y_sw = y.strides[3];
    if (has_residual_) {
      const TensorRef& r = step.inputs[1];
      p.r_sn = r.strides[0];
      p.r_sh = r.strides[2];
      p.r_sw = r.strides[3];
      p.has_residual = true;
      p.residual_vectors = vector_aligned(r);
    }
    if (has_upsampled_) {
      const TensorRef& u = step.upsampled;
      p.u_sn = u.strides[0];
      p.u_sh = u.strides[2];
      p.u_sw = u.strides[3];
      p.has_upsampled = true;
    }
    p.cluster_reduce = split_k_reduces_in_cluster();
  }

  void setup_direct(const Step& step, const Tensor& w) {
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    ConvDirectParams& p = direct_;
    fill_geometry(x, y, w.shape(), p.n, p.c, p.h, p.w_in, p.k, p.r, p.s, p.out_h, p.out_w);
    fill_window(p);
    p.x = operand_of(x);
    p.y_sn = y.strides[0];
    p.y_sh = y.strides[2];
    p.y_sw = y.strides[3];
    const std::vector<float> kcrs = w.to_float_vector();  // ONNX order is already K x C x R x S
    direct_weights_ = DeviceBuffer(kcrs.size() * sizeof(float));
    direct_weights_.upload(kcrs.data(), kcrs.size() * sizeof(float));
  }

  // False when cuDNN has no usable algorithm (an error only when no other implementation applies).
  bool setup_cudnn(const TensorRef& x, const TensorRef& y, const Shape& w, const ConvBuild& build) {
    describe_cudnn(x, y, w);
    return find_cudnn_algorithm(build);
  }

  void describe_cudnn(const TensorRef& x, const TensorRef& y, const Shape& w) {
    DETSTREAM_CUDA_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
    DETSTREAM_CUDA_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
    DETSTREAM_CUDA_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
    DETSTREAM_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
    describe_tensor(x_desc_, x);
    describe_tensor(y_desc_, y);
    DETSTREAM_CUDA_CHECK(cudnnSetFilter4dDescriptor(w_desc_, cudnn_type(x.dtype), nhwc_ ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                                    static_cast<int>(w[0]), static_cast<int>(w[1]), static_cast<int>(w[2]),
                                                    static_cast<int>(w[3])));
    const auto& g = geometry_;
    DETSTREAM_CUDA_CHECK(cudnnSetConvolution2dDescriptor(
        conv_desc_, static_cast<int>(g.pads_begin[0]), static_cast<int>(g.pads_begin[1]), static_cast<int>(g.strides[0]),
        static_cast<int>(g.strides[1]), static_cast<int>(g.dilations[0]), static_cast<int>(g.dilations[1]),
        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DETSTREAM_CUDA_CHECK(cudnnSetConvolutionGroupCount(conv_desc_, group_));
    DETSTREAM_CUDA_CHECK(cudnnSetConvolutionMathType(conv_desc_, half_ ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }

  bool find_cudnn_algorithm(const ConvBuild& build) {
    constexpr int kCandidates = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    cudnnConvolutionFwdAlgoPerf_t perf[kCandidates];
    int returned = 0;
    DETSTREAM_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithm(build.handle, x_desc_, w_desc_, conv_desc_, y_desc_,
                                                              kCandidates, &returned, perf));
    for (int i = 0; i < returned; ++i) {  // sorted fastest first
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > build.workspace_limit) continue;
      if (!half_ && perf[i].mathType == CUDNN_TENSOR_OP_MATH) continue;  // fp32 parity: no TF32
      algorithm_ = perf[i].algo;
      workspace_ = perf[i].memory;
      math_ = perf[i].mathType;
      DETSTREAM_CUDA_CHECK(cudnnSetConvolutionMathType(conv_desc_, perf[i].mathType));
      return true;
    }
    cudnn_failure_ = where_ + ": cuDNN has no convolution algorithm for these layouts (" + std::to_string(returned) +
                     " candidates, none usable within the workspace limit)";
    return false;
  }

  struct Candidate {
    Implementation implementation;
    int tile = -1, splits = 1;
  };

  std::vector<Candidate> igemm_candidates(const ConvBuild& build) const {
    std::vector<Candidate> list;
    const int only_tile = forced_tile();
    auto tile_allowed = [&](int tile) { return only_tile < 0 || tile == only_tile; };
    if (const int forced = forced_split_k(); forced > 0) {
      for (int tile = 0; tile < kConvTileCount; ++tile)
        if (tile_allowed(tile)) list.push_back({Implementation::kIgemm, tile, forced});
      return list;
    }
    for (int tile = 0; tile < kConvTileCount; ++tile) {
      if (!tile_allowed(tile)) continue;
      const long long tiles = conv_igemm_output_tiles(igemm_, tile);
      int last = 0;
      for (int requested : kSplitCandidates) {
        const int splits = conv_igemm_effective_splits(igemm_, tile, requested);
        if (splits == last) continue;
        last = splits;
        if (splits > 1 && (tiles >= build.multiprocessors || tiles * splits > 4LL * build.multiprocessors)) continue;
        if (conv_igemm_partials_bytes(igemm_, tile, splits) > partials_limit(build)) continue;
        list.push_back({Implementation::kIgemm, tile, splits});
      }
    }
    return list;
  }

  // The halo-tile and pointwise variants that apply, as `forced` allows (none while an
  // implicit-GEMM tile or split is forced).
  std::vector<Candidate> shared_tile_candidates(const std::string& forced) const {
    std::vector<Candidate> list;
    if (forced_tile() >= 0 || forced_split_k() > 0) return list;
    const int only_halo = forced_halo(), only_pointwise = forced_pointwise();
    if (forced != "pointwise" && only_pointwise < 0)
      for (int variant = 0; variant < kConvHaloCount; ++variant)
        if ((only_halo < 0 || variant == only_halo) && conv_halo_supported(igemm_, variant)) list.push_back({Implementation::kHalo, variant});
    if (forced != "halo" && only_halo < 0)
      for (int variant = 0; variant < kConvPointwiseCount; ++variant)
        if ((only_pointwise < 0 || variant == only_pointwise) && conv_pointwise_supported(igemm_, variant))
          list.push_back({Implementation::kPointwise, variant});
    return list;
  }

  void choose_tactic(const Step& step, const Tensor& w, const ConvBuild& build) {
    const Shape& shape = w.shape();
    const std::string forced = forced_implementation();
    upload_weights(w);
    const bool cached = build.timing_cache && forced.empty() && forced_split_k() == 0 && forced_tile() < 0 && forced_halo() < 0 &&
                      forced_pointwise() < 0 && forced_direct() < 0;
    signature_ = cached ? tactic_signature(step, shape, build) : std::string();
    if (cached) {
      if (const std::optional<CachedTactic> hit = build.timing_cache->find(signature_); hit && adopt_cached(*hit, step, w, build)) return;
    }
    choose_tactic_by_timing(step, w, build, forced);
    if (cached) build.timing_cache->insert(signature_, cached_tactic());
  }

  void choose_tactic_by_timing(const Step& step, const Tensor& w, const ConvBuild& build, const std::string& forced) {
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    const Shape& shape = w.shape();
    std::vector<Candidate> candidates;
    if (igemm_applies(step, shape) && forced != "cudnn") {
      setup_igemm(step, shape);
      if (forced != "igemm") candidates = shared_tile_candidates(forced);
      if ((forced != "halo" && forced != "pointwise") || candidates.empty()) {
        const std::vector<Candidate> tiles = igemm_candidates(build);
        candidates.insert(candidates.end(), tiles.begin(), tiles.end());
      }
    }
    if (direct_applies(step, shape)) {
      setup_direct(step, w);
      const int only = forced_direct();
      for (int variant = 0; variant < kConvDirectCount; ++variant)
        if ((only < 0 || variant == only) && conv_direct_variant_supported(direct_, variant)) candidates.push_back({Implementation::kDirect, variant});
    }
    const bool cudnn_wanted =
        candidates.empty() || (forced != "igemm" && forced != "halo" && forced != "pointwise" && is_packed_nhwc(x) && is_packed_nhwc(y));
    if (cudnn_wanted && cudnn_applies(step) && setup_cudnn(x, y, shape, build)) candidates.push_back({Implementation::kCudnn});
    if (candidates.empty() && has_upsampled_) {
      throw CudaError(where_ + ": no kernel writes its folded 2x upsampling for these layouts (DETSTREAM_CUDA_FUSE_UPSAMPLE=0 "
                               "runs the Resize apart)");
    }
    if (candidates.empty()) {
      throw CudaError(cudnn_failure_.empty() ? where_ + ": no convolution implementation for these layouts" : cudnn_failure_);
    }
    ranked_.clear();
    if (candidates.size() == 1) return adopt(candidates[0]);
    // Time every candidate on scratch tensors shaped like the real ones (non-zero data).
    std::size_t scratch = 0, counters = 0;
    for (const Candidate& c : candidates) {
      adopt(c);
      scratch = std::max(scratch, workspace_bytes());
      counters = std::max(counters, tile_counters());
    }
    DeviceBuffer xs(extent(x) * element_size(x.dtype) + 16), ys(extent(y) * element_size(y.dtype) + 16);
    DeviceBuffer rs(has_residual_ ? extent(step.inputs[1]) * element_size(y.dtype) + 16 : 0);
    DeviceBuffer us(has_upsampled_ ? extent(step.upsampled) * element_size(y.dtype) + 16 : 0);
    DeviceBuffer ws(scratch), cs(counters * sizeof(unsigned));
    DETSTREAM_CUDA_CHECK(cudaMemset(xs.get(), 0x3C, xs.size()));
    if (rs.size()) DETSTREAM_CUDA_CHECK(cudaMemset(rs.get(), 0x3C, rs.size()));
    if (cs.size()) DETSTREAM_CUDA_CHECK(cudaMemset(cs.get(), 0, cs.size()));
    std::vector<std::pair<float, Candidate>> timed;
    for (const Candidate& c : candidates) {
      adopt(c);
      const float ms = time_ms(build.stream, [&] {
        run(build.stream, build.handle, xs.get(), rs.get(), ys.get(), us.get(), ws.get(), static_cast<unsigned*>(cs.get()));
      });
      timed.push_back({ms, c});
    }
    std::stable_sort(timed.begin(), timed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    adopt(timed[0].second);
    keep_runners_up(timed);
  }

  // The runners-up the engine may try within the graph: within runners_up().slack of the best time
  // alone, and only kernels of our own that need no scratch (the graph's scratch is sized by then).
  // H200, batch 1: 1.5 and 6 gained nothing over the timing alone with the graph's prefix timed
  // (s6slack logs), 1.3 and 4 did; DETSTREAM_CUDA_RUNNERS_UP="slack,count" changes them.
  void keep_runners_up(const std::vector<std::pair<float, Candidate>>& timed) {
    const RunnersUp limit = runners_up();
    ranked_.assign(1, timed[0].second);
    for (std::size_t i = 1; i < timed.size() && ranked_.size() < limit.count; ++i) {
      if (timed[i].first > limit.slack * timed[0].first) break;
      adopt(timed[i].second);
      if (implementation_ != Implementation::kCudnn && workspace_bytes() == 0 && tile_counters() == 0) ranked_.push_back(timed[i].second);
    }
    adopt(ranked_[0]);
  }


  // Everything a candidate's speed depends on; the device and library versions are the cache's.
  std::string tactic_signature(const Step& step, const Shape& w, const ConvBuild& build) const {
    std::ostringstream text;
    auto view = [&](const char* name, const TensorRef& ref) {
      text << ' ' << name << (ref.dtype == DataType::kFloat16 ? ":f16" : ":f32");
      for (std::size_t d = 0; d < ref.shape.size(); ++d) text << (d ? "x" : "[") << ref.shape[d];
      for (std::size_t d = 0; d < ref.strides.size(); ++d) text << (d ? "," : "/") << ref.strides[d];
      text << ']';
    };
    text << "conv" << (nhwc_ ? " nhwc" : " nchw") << " igemm-mma+halo2+pointwise+graph";  // kernel generation: older timings do not apply
    text << (split_k_reduces_in_cluster() ? " splitk-cluster" : " splitk-global");
    view("x", step.inputs[0]);
    view("y", step.output);
    if (has_residual_) view("r", step.inputs[1]);
    if (has_upsampled_) view("u", step.upsampled);
    text << " w" << w[0] << 'x' << w[1] << 'x' << w[2] << 'x' << w[3] << " g" << group_;
    for (int d = 0; d < 2; ++d) {
      text << " s" << geometry_.strides[d] << " p" << geometry_.pads_begin[d] << " d" << geometry_.dilations[d];
    }
    text << " bias" << has_bias_ << " act" << static_cast<int>(activation_) << " sm" << build.multiprocessors << " wsl"
         << build.workspace_limit;
    // The tactic is chosen within the graph too (CudaEngine::choose_tactics_in_graph): layers of
    // one shape may keep different ones, so the entry is the node's.
    text << " node" << step.node;
    return text.str();
  }

  CachedTactic cached_tactic() const {
    CachedTactic t;
    t.implementation = static_cast<int>(implementation_);
    t.tile = tile_;
    t.splits = splits_;
    if (implementation_ == Implementation::kCudnn) {
      t.cudnn_algorithm = static_cast<int>(algorithm_);
      t.cudnn_math = static_cast<int>(math_);
      t.cudnn_workspace = workspace_;
    }
    return t;
  }

  // False when the recorded tactic no longer applies (the layer is then timed as usual).
  bool adopt_cached(const CachedTactic& t, const Step& step, const Tensor& w, const ConvBuild& build) {
    const Shape& shape = w.shape();
    switch (static_cast<Implementation>(t.implementation)) {
      case Implementation::kIgemm:
        if (!igemm_applies(step, shape) || t.tile < 0 || t.tile >= kConvTileCount || t.splits < 1) return false;
        setup_igemm(step, shape);
        if (conv_igemm_partials_bytes(igemm_, t.tile, t.splits) > partials_limit(build)) return false;
        adopt({Implementation::kIgemm, t.tile, t.splits});
        return true;
      case Implementation::kHalo:
      case Implementation::kPointwise: {
        if (!igemm_applies(step, shape)) return false;
        setup_igemm(step, shape);
        const Implementation kind = static_cast<Implementation>(t.implementation);
        if (!(kind == Implementation::kHalo ? conv_halo_supported(igemm_, t.tile) : conv_pointwise_supported(igemm_, t.tile))) return false;
        adopt({kind, t.tile});
        return true;
      }
      case Implementation::kDirect:
        if (!direct_applies(step, shape)) return false;
        setup_direct(step, w);
        if (!conv_direct_variant_supported(direct_, t.tile)) return false;
        adopt({Implementation::kDirect, t.tile});
        return true;
      case Implementation::kCudnn:
        if (!cudnn_applies(step) || t.cudnn_workspace > build.workspace_limit) return false;
        if (t.cudnn_algorithm < 0 || t.cudnn_algorithm >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT) return false;
        if (!half_ && t.cudnn_math == CUDNN_TENSOR_OP_MATH) return false;  // fp32 parity: no TF32
        describe_cudnn(step.inputs[0], step.output, shape);
        algorithm_ = static_cast<cudnnConvolutionFwdAlgo_t>(t.cudnn_algorithm);
        math_ = static_cast<cudnnMathType_t>(t.cudnn_math);
        workspace_ = t.cudnn_workspace;
        DETSTREAM_CUDA_CHECK(cudnnSetConvolutionMathType(conv_desc_, math_));
        adopt({Implementation::kCudnn});
        return true;
    }
    return false;
  }

  void adopt(const Candidate& c) {
    implementation_ = c.implementation;
    tile_ = c.tile;
    splits_ = c.splits;
  }

  std::string where_;
  std::string cudnn_failure_;
  std::string signature_;          // in the timing cache; empty when the build uses none
  std::vector<Candidate> ranked_;  // the tactic timing chose, then its runners-up
  bool nhwc_ = true, half_ = true, has_bias_ = false, has_residual_ = false, has_upsampled_ = false;
  int group_ = 1;
  ops::WindowGeometry geometry_;
  ops::Activation activation_ = ops::Activation::kNone;
  Implementation implementation_ = Implementation::kCudnn;
  // The implicit GEMM's tactic; tile_ is the variant for kHalo, kPointwise and kDirect.
  int tile_ = -1, splits_ = 1;
  ConvIgemmParams igemm_;
  ConvDirectParams direct_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t algorithm_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnMathType_t math_ = CUDNN_DEFAULT_MATH;
  std::size_t workspace_ = 0;
  DeviceBuffer weights_, direct_weights_, bias_;
  ElementwiseParams epilogue_, residual_add_;
  DeviceAddress x_, y_, residual_, upsampled_;
};

}  // namespace

std::unique_ptr<Layer> make_conv_layer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build) {
  return std::make_unique<ConvLayer>(step, graph, book, build);
}

}  // namespace detstream::inference::cuda
