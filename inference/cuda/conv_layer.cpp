// Convolution layers. Two implementations, chosen per layer at build time by timing the
// candidates on this GPU (tactic selection, like TensorRT's):
// - the backend's implicit-GEMM tensor-core kernel (conv_igemm.cu) for fp16 NHWC with channel
//   counts multiple of 8: bias and activation fused, any pixel stride, so inputs can be channel
//   slices and outputs can be written into a concatenation;
// - cuDNN's convolution API (NHWC or NCHW; fp16 data on tensor cores with float accumulation, or
//   fp32 with FMA math: no TF32), its algorithm found by cudnnFindConvolutionForwardAlgorithm,
//   followed by one bias + activation epilogue kernel. (The legacy API is deprecated in cuDNN 9
//   but shipped; its graph API with a fused epilogue is a later step.)
// DETSTREAM_CUDA_CONV=cudnn|igemm forces one where it applies (tests, comparisons).
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/device_memory.h"
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

// Mean device time of `run` over 10 launches on the legacy stream, after 2 warm-ups.
float time_ms(const std::function<void()>& run) {
  run();
  run();
  cudaEvent_t begin = nullptr, end = nullptr;
  DETSTREAM_CUDA_CHECK(cudaEventCreate(&begin));
  DETSTREAM_CUDA_CHECK(cudaEventCreate(&end));
  DETSTREAM_CUDA_CHECK(cudaEventRecord(begin, nullptr));
  for (int i = 0; i < 10; ++i) run();
  DETSTREAM_CUDA_CHECK(cudaEventRecord(end, nullptr));
  DETSTREAM_CUDA_CHECK(cudaEventSynchronize(end));
  float ms = 0.0f;
  DETSTREAM_CUDA_CHECK(cudaEventElapsedTime(&ms, begin, end));
  cudaEventDestroy(begin);
  cudaEventDestroy(end);
  return ms / 10.0f;
}

std::string forced_implementation() {
  const char* v = std::getenv("DETSTREAM_CUDA_CONV");
  return v ? v : "";
}

class ConvLayer final : public Layer {
 public:
  ConvLayer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build) : Layer(step.node) {
    const Node& node = graph.nodes[static_cast<std::size_t>(step.node)];
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    where_ = graph.describe(node);
    nhwc_ = !is_packed_row_major(x) && x.strides[1] == 1;
    half_ = x.dtype == DataType::kFloat16;
    const Tensor& w = *graph.value(node.inputs[1]).constant;
    geometry_ = ops::resolve_window(node, x.shape, {w.shape()[2], w.shape()[3]}, false);
    if (geometry_.pads_begin != geometry_.pads_end) throw Error(where_ + ": asymmetric padding is not supported by cuDNN");
    group_ = static_cast<int>(node.attr_int("group", 1));
    upload_weights(w);
    has_bias_ = node.has_input(2);
    if (has_bias_) {
      const std::vector<float> bias = graph.value(node.inputs[2]).constant->to_float_vector();
      bias_ = DeviceBuffer(bias.size() * sizeof(float));
      bias_.upload(bias.data(), bias.size() * sizeof(float));
    }
    x_ = book.address(x);
    y_ = book.address(y);
    activation_ = step.activation;
    if (has_bias_ || activation_ != ops::Activation::kNone) epilogue_ = bias_activation_params(y, has_bias_, activation_);
    choose_tactic(x, y, w.shape(), build);
  }

  ~ConvLayer() override {
    if (conv_desc_) cudnnDestroyConvolutionDescriptor(conv_desc_);
    if (w_desc_) cudnnDestroyFilterDescriptor(w_desc_);
    if (y_desc_) cudnnDestroyTensorDescriptor(y_desc_);
    if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
  }

  void enqueue(const LaunchArgs& args) const override {
    run(args.stream, args.cudnn, x_.in(args.arena), y_.in(args.arena), args.workspace);
  }
  std::size_t workspace_bytes() const override { return tile_ < 0 ? workspace_ : 0; }
  bool is_conv() const override { return true; }
  std::string tactic() const override {
    return tile_ >= 0 ? std::string("igemm ") + conv_tile_name(tile_) : "cudnn algo " + std::to_string(static_cast<int>(algorithm_));
  }

 private:
  void run(cudaStream_t stream, cudnnHandle_t handle, void* x, void* y, void* workspace) const {
    if (tile_ >= 0) {
      ConvIgemmParams p = igemm_;
      p.x = x;
      p.y = y;
      p.w = weights_.get();
      p.bias = has_bias_ ? static_cast<const float*>(bias_.get()) : nullptr;
      launch_conv_igemm(p, tile_, stream);
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

  bool igemm_applies(const TensorRef& x, const TensorRef& y, const Shape& w) const {
    return half_ && nhwc_ && group_ == 1 && w[1] % 8 == 0 && w[0] % 8 == 0 && vector_aligned(x) && vector_aligned(y);
  }

  void setup_igemm(const TensorRef& x, const TensorRef& y, const Shape& w) {
    ConvIgemmParams& p = igemm_;
    p.n = static_cast<int>(x.shape[0]);
    p.c = static_cast<int>(x.shape[1]);
    p.h = static_cast<int>(x.shape[2]);
    p.w_in = static_cast<int>(x.shape[3]);
    p.k = static_cast<int>(w[0]);
    p.r = static_cast<int>(w[2]);
    p.s = static_cast<int>(w[3]);
    p.out_h = static_cast<int>(y.shape[2]);
    p.out_w = static_cast<int>(y.shape[3]);
    p.stride_h = static_cast<int>(geometry_.strides[0]);
    p.stride_w = static_cast<int>(geometry_.strides[1]);
    p.pad_h = static_cast<int>(geometry_.pads_begin[0]);
    p.pad_w = static_cast<int>(geometry_.pads_begin[1]);
    p.dilation_h = static_cast<int>(geometry_.dilations[0]);
    p.dilation_w = static_cast<int>(geometry_.dilations[1]);
    p.x_sn = x.strides[0];
    p.x_sh = x.strides[2];
    p.x_sw = x.strides[3];
    p.y_sn = y.strides[0];
    p.y_sh = y.strides[2];
    p.y_sw = y.strides[3];
    p.activation = kernel_activation(activation_);
  }

  void setup_cudnn(const TensorRef& x, const TensorRef& y, const Shape& w, const ConvBuild& build) {
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
      DETSTREAM_CUDA_CHECK(cudnnSetConvolutionMathType(conv_desc_, perf[i].mathType));
      return;
    }
    throw CudaError(where_ + ": cuDNN has no convolution algorithm for these layouts (" + std::to_string(returned) +
                    " candidates, none usable within the workspace limit)");
  }

  void choose_tactic(const TensorRef& x, const TensorRef& y, const Shape& w, const ConvBuild& build) {
    const std::string forced = forced_implementation();
    const bool igemm = igemm_applies(x, y, w) && forced != "cudnn";
    const bool cudnn = !igemm || (forced != "igemm" && is_packed_nhwc(x) && is_packed_nhwc(y));
    if (cudnn) setup_cudnn(x, y, w, build);
    if (!igemm) return;
    setup_igemm(x, y, w);
    // Time every candidate on scratch tensors shaped like the real ones (non-zero data).
    DeviceBuffer xs(extent(x) * 2 + 16), ys(extent(y) * 2 + 16), ws(cudnn ? workspace_ : 0);
    DETSTREAM_CUDA_CHECK(cudaMemset(xs.get(), 0x3C, xs.size()));
    float best = 1e30f;
    int best_tile = -1;
    for (int tile = 0; tile < kConvTileCount; ++tile) {
      tile_ = tile;
      const float ms = time_ms([&] { run(nullptr, build.handle, xs.get(), ys.get(), ws.get()); });
      if (ms < best) {
        best = ms;
        best_tile = tile;
      }
    }
    tile_ = -1;
    if (cudnn && time_ms([&] { run(nullptr, build.handle, xs.get(), ys.get(), ws.get()); }) < best) return;
    tile_ = best_tile;
  }

  std::string where_;
  bool nhwc_ = true, half_ = true, has_bias_ = false;
  int group_ = 1;
  ops::WindowGeometry geometry_;
  ops::Activation activation_ = ops::Activation::kNone;
  int tile_ = -1;  // >= 0: the implicit-GEMM kernel with this tile; -1: cuDNN
  ConvIgemmParams igemm_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t algorithm_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  std::size_t workspace_ = 0;
  DeviceBuffer weights_, bias_;
  ElementwiseParams epilogue_;
  DeviceAddress x_, y_;
};

}  // namespace

std::unique_ptr<Layer> make_conv_layer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build) {
  return std::make_unique<ConvLayer>(step, graph, book, build);
}

}  // namespace detstream::inference::cuda
