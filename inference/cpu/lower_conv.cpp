// Conv -> oneDNN convolution. Source, weights and destination use format `any`, so oneDNN picks
// its preferred blocked/channels-last layouts and the consumers keep them; the fused activation
// written by the conv-activation-fusion pass becomes an eltwise post-op (SiLU = swish, alpha 1).
// Weights are reordered once into the layout the primitive wants (bf16 for bf16 plans).
#include "inference/core/error.h"
#include "inference/cpu/layout.h"
#include "inference/cpu/lowering.h"
#include "inference/ops/activation.h"
#include "inference/ops/conv_geometry.h"

namespace detstream::inference::cpu {

namespace {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::post_ops activation_post_ops(const Node& node) {
  dnnl::post_ops post_ops;
  switch (ops::activation_from_node(node)) {
    case ops::Activation::kSilu: post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f); break;
    case ops::Activation::kRelu: post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
    case ops::Activation::kSigmoid: post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f); break;
    case ops::Activation::kNone: break;
  }
  return post_ops;
}

struct ConvShape {
  dims src, weights, bias, dst, strides, dilations, pad_begin, pad_end;
};

ConvShape conv_shape(const Graph& graph, const Node& node) {
  const Shape& x = graph.value(node.inputs[0]).shape;
  const Shape& w = graph.value(node.inputs[1]).shape;
  const Shape& y = graph.value(node.outputs[0]).shape;
  const std::int64_t group = node.attr_int("group", 1);
  const ops::WindowGeometry g = ops::resolve_window(node, x, {w[2], w[3]}, false);
  ConvShape s;
  s.src = to_dims(x);
  s.dst = to_dims(y);
  s.weights = group == 1 ? dims{w[0], w[1], w[2], w[3]} : dims{group, w[0] / group, w[1], w[2], w[3]};
  s.bias = {w[0]};
  s.strides = {g.strides[0], g.strides[1]};
  s.dilations = {g.dilations[0] - 1, g.dilations[1] - 1};  // oneDNN counts the gaps
  s.pad_begin = {g.pads_begin[0], g.pads_begin[1]};
  s.pad_end = {g.pads_end[0], g.pads_end[1]};
  return s;
}

}  // namespace

void lower_conv(Lowering& lowering, int index) {
  const Graph& graph = lowering.graph();
  const Node& node = graph.nodes[static_cast<std::size_t>(index)];
  const dt type = lowering.compute_type(index);
  const ConvShape s = conv_shape(graph, node);
  const bool has_bias = node.has_input(2);
  const dnnl::memory::desc src_any(s.src, type, tag::any);
  const dnnl::memory::desc weights_any(s.weights, type, tag::any);
  const dnnl::memory::desc bias_desc(s.bias, dt::f32, tag::a);
  const dnnl::memory::desc dst_any(s.dst, type, tag::any);
  const auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                               dnnl::algorithm::convolution_direct, src_any, weights_any,
                                                               bias_desc, dst_any, s.strides, s.dilations, s.pad_begin,
                                                               s.pad_end)
                             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                               dnnl::algorithm::convolution_direct, src_any, weights_any,
                                                               dst_any, s.strides, s.dilations, s.pad_begin, s.pad_end);
  const dnnl::convolution_forward::primitive_desc pd(desc, Lowering::attr(activation_post_ops(node)), lowering.engine());

  const Value& w = graph.value(node.inputs[1]);
  const dnnl::memory weights_source(plain_desc(Shape(s.weights.begin(), s.weights.end()), dt::f32), lowering.engine(),
                                    const_cast<void*>(w.constant->raw()));
  const int weights = lowering.constant(pd.weights_desc(), weights_source);
  const int src = lowering.convert(lowering.slot_of(node.inputs[0]), pd.src_desc(), index);
  const int dst = lowering.define(node.outputs[0], pd.dst_desc());
  std::vector<std::pair<int, int>> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (has_bias) {
    const Value& b = graph.value(node.inputs[2]);
    const dnnl::memory bias_source(bias_desc, lowering.engine(), const_cast<void*>(b.constant->raw()));
    args.emplace_back(DNNL_ARG_BIAS, lowering.constant(bias_desc, bias_source));
  }
  lowering.emit(index, dnnl::convolution_forward(pd), pd.scratchpad_desc(), std::move(args));
}

}  // namespace detstream::inference::cpu
