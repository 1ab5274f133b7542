// Convolution through cuDNN's convolution API: NHWC (or NCHW) tensors, fp16 data with float
// accumulation on tensor cores, or fp32 with FMA math (no TF32). The algorithm is chosen at build
// time by timing cuDNN's candidates on this GPU (cudnnFindConvolutionForwardAlgorithm), like a
// tactic selection. Bias and the fused activation run as one epilogue kernel over the output.
// The legacy convolution API is deprecated in cuDNN 9 but still shipped; the graph API with a
// fused conv + bias + SiLU is the next step.
#include <algorithm>
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

class ConvLayer final : public Layer {
 public:
  ConvLayer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build) : Layer(step.node) {
    const Node& node = graph.nodes[static_cast<std::size_t>(step.node)];
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    const bool nhwc = !is_packed_row_major(x) && x.strides[1] == 1;
    const Tensor& w = *graph.value(node.inputs[1]).constant;
    const ops::WindowGeometry g = ops::resolve_window(node, x.shape, {w.shape()[2], w.shape()[3]}, false);
    if (g.pads_begin != g.pads_end) throw Error(graph.describe(node) + ": asymmetric padding is not supported by cuDNN");
    const int group = static_cast<int>(node.attr_int("group", 1));

    DETSTREAM_CUDA_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
    DETSTREAM_CUDA_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
    DETSTREAM_CUDA_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
    DETSTREAM_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
    describe_tensor(x_desc_, x);
    describe_tensor(y_desc_, y);
    DETSTREAM_CUDA_CHECK(cudnnSetFilter4dDescriptor(w_desc_, cudnn_type(x.dtype), nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                                    static_cast<int>(w.shape()[0]), static_cast<int>(w.shape()[1]),
                                                    static_cast<int>(w.shape()[2]), static_cast<int>(w.shape()[3])));
    DETSTREAM_CUDA_CHECK(cudnnSetConvolution2dDescriptor(
        conv_desc_, static_cast<int>(g.pads_begin[0]), static_cast<int>(g.pads_begin[1]), static_cast<int>(g.strides[0]),
        static_cast<int>(g.strides[1]), static_cast<int>(g.dilations[0]), static_cast<int>(g.dilations[1]),
        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DETSTREAM_CUDA_CHECK(cudnnSetConvolutionGroupCount(conv_desc_, group));
    const bool half = x.dtype == DataType::kFloat16;
    DETSTREAM_CUDA_CHECK(cudnnSetConvolutionMathType(conv_desc_, half ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));

    upload_weights(w, nhwc, half);
    has_bias_ = node.has_input(2);
    if (has_bias_) {
      const std::vector<float> bias = graph.value(node.inputs[2]).constant->to_float_vector();
      bias_ = DeviceBuffer(bias.size() * sizeof(float));
      bias_.upload(bias.data(), bias.size() * sizeof(float));
    }
    choose_algorithm(build, graph.describe(node), half);
    x_ = book.address(x);
    y_ = book.address(y);
    activation_ = step.activation;
    if (has_bias_ || activation_ != ops::Activation::kNone) epilogue_ = bias_activation_params(y, has_bias_, activation_);
  }

  ~ConvLayer() override {
    if (conv_desc_) cudnnDestroyConvolutionDescriptor(conv_desc_);
    if (w_desc_) cudnnDestroyFilterDescriptor(w_desc_);
    if (y_desc_) cudnnDestroyTensorDescriptor(y_desc_);
    if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
  }

  void enqueue(const LaunchArgs& args) const override {
    const float alpha = 1.0f, beta = 0.0f;
    void* y = y_.in(args.arena);
    DETSTREAM_CUDA_CHECK(cudnnConvolutionForward(args.cudnn, &alpha, x_desc_, x_.in(args.arena), w_desc_, weights_.get(),
                                                 conv_desc_, algorithm_, args.workspace, workspace_, &beta, y_desc_, y));
    if (epilogue_.count > 0) {
      ElementwiseParams p = epilogue_;
      p.a.data = y;
      p.b.data = bias_.get();
      p.y.data = y;
      launch_elementwise(p, args.stream);
    }
  }
  std::size_t workspace_bytes() const override { return workspace_; }
  bool is_conv() const override { return true; }

 private:
  void upload_weights(const Tensor& w, bool nhwc, bool half) {
    const std::vector<float> values = conv_weights(w, nhwc);
    if (half) {
      const std::vector<std::uint16_t> packed = to_half(values);
      weights_ = DeviceBuffer(packed.size() * sizeof(std::uint16_t));
      weights_.upload(packed.data(), packed.size() * sizeof(std::uint16_t));
    } else {
      weights_ = DeviceBuffer(values.size() * sizeof(float));
      weights_.upload(values.data(), values.size() * sizeof(float));
    }
  }

  void choose_algorithm(const ConvBuild& build, const std::string& where, bool half) {
    constexpr int kCandidates = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    cudnnConvolutionFwdAlgoPerf_t perf[kCandidates];
    int returned = 0;
    DETSTREAM_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithm(build.handle, x_desc_, w_desc_, conv_desc_, y_desc_,
                                                              kCandidates, &returned, perf));
    for (int i = 0; i < returned; ++i) {  // sorted fastest first
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > build.workspace_limit) continue;
      if (!half && perf[i].mathType == CUDNN_TENSOR_OP_MATH) continue;  // fp32 parity: no TF32
      algorithm_ = perf[i].algo;
      workspace_ = perf[i].memory;
      DETSTREAM_CUDA_CHECK(cudnnSetConvolutionMathType(conv_desc_, perf[i].mathType));
      return;
    }
    throw CudaError(where + ": cuDNN has no convolution algorithm for these layouts (" + std::to_string(returned) +
                    " candidates, none usable within the workspace limit)");
  }

  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t algorithm_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  std::size_t workspace_ = 0;
  DeviceBuffer weights_, bias_;
  bool has_bias_ = false;
  ops::Activation activation_ = ops::Activation::kNone;
  ElementwiseParams epilogue_;
  DeviceAddress x_, y_;
};

}  // namespace

std::unique_ptr<Layer> make_conv_layer(const Step& step, const Graph& graph, const AddressBook& book, const ConvBuild& build) {
  return std::make_unique<ConvLayer>(step, graph, book, build);
}

}  // namespace detstream::inference::cuda
