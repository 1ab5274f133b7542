// The layer of a fused stem pair (StepKind::kStemPair, conv_stem_pair.cu): the stem's fp32
// weights and the second convolution's fp16 K x R x S x C weights uploaded once, both layers'
// geometry read from their nodes, and one launch per enqueue.
#include "inference/core/error.h"
#include "inference/cuda/device_memory.h"
#include "inference/cuda/layer.h"
#include "inference/cuda/weight_layout.h"
#include "inference/ops/conv_geometry.h"

namespace detstream::inference::cuda {

namespace {

template <typename Params>
void fill_window(Params& p, const Node& node, const Shape& x, const Shape& w) {
  const ops::WindowGeometry g = ops::resolve_window(node, x, {w[2], w[3]}, false);
  p.n = static_cast<int>(x[0]), p.c = static_cast<int>(x[1]), p.h = static_cast<int>(x[2]), p.w_in = static_cast<int>(x[3]);
  p.k = static_cast<int>(w[0]), p.r = static_cast<int>(w[2]), p.s = static_cast<int>(w[3]);
  p.stride_h = static_cast<int>(g.strides[0]), p.stride_w = static_cast<int>(g.strides[1]);
  p.pad_h = static_cast<int>(g.pads_begin[0]), p.pad_w = static_cast<int>(g.pads_begin[1]);
  p.dilation_h = static_cast<int>(g.dilations[0]), p.dilation_w = static_cast<int>(g.dilations[1]);
  p.out_h = static_cast<int>(g.output[0]), p.out_w = static_cast<int>(g.output[1]);
}

DeviceBuffer upload_bias(const Graph& graph, const Node& node) {
  if (!node.has_input(2)) return DeviceBuffer();
  const std::vector<float> bias = graph.value(node.inputs[2]).constant->to_float_vector();
  DeviceBuffer buffer(bias.size() * sizeof(float));
  buffer.upload(bias.data(), bias.size() * sizeof(float));
  return buffer;
}

class StemPairLayer final : public Layer {
 public:
  StemPairLayer(const Step& step, const Graph& graph, const AddressBook& book) : Layer(step.node) {
    const Node& first = graph.nodes[static_cast<std::size_t>(step.node)];
    const Node& second = graph.nodes[static_cast<std::size_t>(step.second_node)];
    const Tensor& w0 = *graph.value(first.inputs[1]).constant;
    const Tensor& w1 = *graph.value(second.inputs[1]).constant;
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;

    fill_window(stem_, first, x.shape, w0.shape());
    stem_.x = operand_of(x);
    stem_.activation = kernel_activation(step.activation);
    const std::vector<float> kcrs = w0.to_float_vector();  // ONNX order is already K x C x R x S
    stem_weights_ = DeviceBuffer(kcrs.size() * sizeof(float));
    stem_weights_.upload(kcrs.data(), kcrs.size() * sizeof(float));
    stem_bias_ = upload_bias(graph, first);

    fill_window(next_, second, graph.value(first.outputs[0]).shape, w1.shape());
    next_.activation = kernel_activation(ops::activation_from_node(second));
    next_.y_sn = y.strides[0], next_.y_sh = y.strides[2], next_.y_sw = y.strides[3];
    const std::vector<std::uint16_t> ohwi = to_half(conv_weights(w1, true));
    next_weights_ = DeviceBuffer(ohwi.size() * sizeof(std::uint16_t));
    next_weights_.upload(ohwi.data(), ohwi.size() * sizeof(std::uint16_t));
    next_bias_ = upload_bias(graph, second);

    if (!conv_stem_pair_supported(stem_, next_)) {
      throw Error(graph.describe(first) + " and " + graph.describe(second) + ": not a stem pair the fused kernel runs");
    }
    x_ = book.address(x);
    y_ = book.address(y);
  }

  void enqueue(const LaunchArgs& args) const override {
    ConvDirectParams stem = stem_;
    stem.x.data = x_.in(args.arena);
    stem.w = static_cast<const float*>(stem_weights_.get());
    stem.bias = static_cast<const float*>(stem_bias_.get());
    ConvIgemmParams next = next_;
    next.y = y_.in(args.arena);
    next.w = next_weights_.get();
    next.bias = static_cast<const float*>(next_bias_.get());
    launch_conv_stem_pair(stem, next, args.stream);
  }
  bool is_conv() const override { return true; }
  std::string tactic() const override { return "stem pair mma"; }

 private:
  ConvDirectParams stem_;
  ConvIgemmParams next_;
  DeviceBuffer stem_weights_, stem_bias_, next_weights_, next_bias_;
  DeviceAddress x_, y_;
};

}  // namespace

std::unique_ptr<Layer> make_stem_pair_layer(const Step& step, const Graph& graph, const AddressBook& book) {
  return std::make_unique<StemPairLayer>(step, graph, book);
}

}  // namespace detstream::inference::cuda
