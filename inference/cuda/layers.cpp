// The kernel-backed layers: elementwise (incl. copies), MaxPool, nearest Resize, Softmax.
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/iteration_space.h"
#include "inference/cuda/layer.h"
#include "inference/ops/conv_geometry.h"

namespace detstream::inference::cuda {

DeviceAddress AddressBook::address(const TensorRef& ref) const {
  const Root& root = lowered_.roots[static_cast<std::size_t>(ref.root)];
  const std::size_t bytes = element_size(ref.dtype);
  DeviceAddress address;
  if (root.kind == RootKind::kConstant) {
    address.absolute = constants_[static_cast<std::size_t>(ref.root)] + ref.offset * static_cast<std::int64_t>(bytes);
  } else {
    address.arena_offset = root.arena_offset + static_cast<std::size_t>(ref.offset) * bytes;
  }
  return address;
}

StridedOperand operand_of(const TensorRef& ref) {
  StridedOperand o;
  o.dtype = ref.dtype == DataType::kFloat16 ? kKernelF16 : kKernelF32;
  if (ref.strides.size() > static_cast<std::size_t>(kMaxRank)) throw Error("tensor of rank > 6 on the cuda backend");
  for (std::size_t d = 0; d < ref.strides.size(); ++d) o.strides[d] = ref.strides[d];
  return o;
}

int kernel_activation(ops::Activation activation) {
  switch (activation) {
    case ops::Activation::kSilu: return kActSilu;
    case ops::Activation::kRelu: return kActRelu;
    case ops::Activation::kSigmoid: return kActSigmoid;
    case ops::Activation::kNone: return kActNone;
  }
  return kActNone;
}

namespace {

void check_count(std::int64_t count) {
  if (count >= (std::int64_t{1} << 31)) throw Error("tensor of " + std::to_string(count) + " elements: too large for the cuda kernels");
}

ElementwiseParams elementwise_params(const std::vector<const TensorRef*>& operands, const TensorRef& y) {
  std::vector<std::vector<std::int64_t>> strides;
  for (const TensorRef* ref : operands) strides.push_back(ref->strides);
  strides.push_back(y.strides);
  const IterationSpace space = collapse_dims(y.shape, strides);
  if (space.dims.size() > static_cast<std::size_t>(kMaxRank)) throw Error("elementwise over more than 6 non-mergeable dimensions");
  ElementwiseParams p;
  p.rank = static_cast<int>(space.dims.size());
  p.count = y.count();
  check_count(p.count);
  for (int d = 0; d < p.rank; ++d) p.dims[d] = space.dims[static_cast<std::size_t>(d)];
  StridedOperand* targets[] = {&p.a, &p.b};
  for (std::size_t k = 0; k < operands.size(); ++k) {
    targets[k]->dtype = operands[k]->dtype == DataType::kFloat16 ? kKernelF16 : kKernelF32;
    for (int d = 0; d < p.rank; ++d) targets[k]->strides[d] = space.strides[k][static_cast<std::size_t>(d)];
  }
  p.y.dtype = y.dtype == DataType::kFloat16 ? kKernelF16 : kKernelF32;
  for (int d = 0; d < p.rank; ++d) p.y.strides[d] = space.strides.back()[static_cast<std::size_t>(d)];
  for (const auto& strides : space.strides) {  // the kernel computes offsets in 32 bits
    std::int64_t reach = 0;
    for (std::size_t d = 0; d < strides.size(); ++d) reach += (space.dims[d] - 1) * (strides[d] < 0 ? -strides[d] : strides[d]);
    check_count(reach);
  }
  return p;
}

class ElementwiseLayer final : public Layer {
 public:
  ElementwiseLayer(const Step& step, const AddressBook& book) : Layer(step.node) {
    std::vector<const TensorRef*> operands;
    for (const TensorRef& in : step.inputs) operands.push_back(&in);
    params_ = elementwise_params(operands, step.output);
    params_.op = static_cast<int>(step.op);
    params_.activation = kernel_activation(step.activation);
    a_ = book.address(step.inputs[0]);
    if (step.inputs.size() > 1) b_ = book.address(step.inputs[1]);
    y_ = book.address(step.output);
    two_inputs_ = step.inputs.size() > 1;
  }
  void enqueue(const LaunchArgs& args) const override {
    ElementwiseParams p = params_;
    p.a.data = a_.in(args.arena);
    if (two_inputs_) p.b.data = b_.in(args.arena);
    p.y.data = y_.in(args.arena);
    launch_elementwise(p, args.stream);
  }

 private:
  ElementwiseParams params_;
  DeviceAddress a_, b_, y_;
  bool two_inputs_ = false;
};

Window2d window_sizes(const TensorRef& x, const TensorRef& y) {
  if (x.shape.size() != 4 || y.shape.size() != 4) throw Error("2-D window kernels need N x C x H x W tensors");
  Window2d w;
  w.n = y.shape[0];
  w.c = y.shape[1];
  w.in_h = x.shape[2];
  w.in_w = x.shape[3];
  w.out_h = y.shape[2];
  w.out_w = y.shape[3];
  w.channels_last = y.strides[1] == 1;
  check_count(w.n * w.c * w.out_h * w.out_w);
  check_count(w.n * w.c * w.in_h * w.in_w);
  w.vector8 = x.dtype == DataType::kFloat16 && y.dtype == DataType::kFloat16 && w.c % 8 == 0 && vector_aligned(x) &&
              vector_aligned(y);
  return w;
}

// One MaxPool, or a chain of identical ones (Step::chained_outputs, SPPF): one kernel for the
// whole chain where maxpool_chain_supported holds, else one launch per pool, each reading the
// previous output.
class MaxPoolLayer final : public Layer {
 public:
  MaxPoolLayer(const Step& step, const Node& node, const AddressBook& book) : Layer(step.node) {
    const TensorRef& x = step.inputs[0];
    Window2d w = window_sizes(x, step.output);
    const ops::WindowGeometry g =
        ops::resolve_window(node, x.shape, node.attr_ints("kernel_shape"), node.attr_int("ceil_mode", 0) != 0);
    w.kernel_h = static_cast<int>(g.kernel[0]);
    w.kernel_w = static_cast<int>(g.kernel[1]);
    w.stride_h = static_cast<int>(g.strides[0]);
    w.stride_w = static_cast<int>(g.strides[1]);
    w.pad_h = static_cast<int>(g.pads_begin[0]);
    w.pad_w = static_cast<int>(g.pads_begin[1]);
    w.dilation_h = static_cast<int>(g.dilations[0]);
    w.dilation_w = static_cast<int>(g.dilations[1]);
    static_assert(kMaxPoolChain <= static_cast<int>(std::size(MaxPoolChainParams{}.y)), "one operand per chained pool");
    bool vectors = true;
    const TensorRef* in = &x;
    for (std::size_t i = 0; i <= step.chained_outputs.size(); ++i) {
      const TensorRef& out = i == 0 ? step.output : step.chained_outputs[i - 1];
      MaxPoolParams pool;
      pool.window = w;
      pool.window.vector8 = window_sizes(*in, out).vector8;
      pool.x = operand_of(*in);
      pool.y = operand_of(out);
      vectors = vectors && pool.window.vector8;
      chain_.y[i] = pool.y;
      pools_.push_back(pool);
      addresses_.push_back(book.address(out));
      in = &out;
    }
    chain_.window = w;
    chain_.window.vector8 = vectors;
    chain_.x = pools_[0].x;
    chain_.count = static_cast<int>(pools_.size());
    fused_ = chain_.count > 1 && maxpool_chain_supported(chain_.window, chain_.count);
    x_ = book.address(x);
  }
  void enqueue(const LaunchArgs& args) const override {
    if (fused_) {
      MaxPoolChainParams p = chain_;
      p.x.data = x_.in(args.arena);
      for (int i = 0; i < p.count; ++i) p.y[i].data = addresses_[static_cast<std::size_t>(i)].in(args.arena);
      return launch_maxpool_chain(p, args.stream);
    }
    void* in = x_.in(args.arena);
    for (std::size_t i = 0; i < pools_.size(); ++i) {
      MaxPoolParams p = pools_[i];
      p.x.data = in;
      p.y.data = in = addresses_[i].in(args.arena);
      launch_maxpool2d(p, args.stream);
    }
  }
  std::string tactic() const override {
    if (pools_.size() == 1) return "";
    return std::to_string(pools_.size()) + (fused_ ? " chained, one kernel" : " chained, one launch each");
  }

 private:
  std::vector<MaxPoolParams> pools_;   // the first pool, then the chained ones
  std::vector<DeviceAddress> addresses_;  // their outputs
  MaxPoolChainParams chain_;
  bool fused_ = false;
  DeviceAddress x_;
};

int coordinate_mode(const Node& node) {
  const std::string mode = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (mode == "asymmetric") return kCoordAsymmetric;
  if (mode == "half_pixel") return kCoordHalfPixel;
  if (mode == "pytorch_half_pixel") return kCoordPytorchHalfPixel;
  if (mode == "align_corners") return kCoordAlignCorners;
  if (mode == "tf_half_pixel_for_nn") return kCoordTfHalfPixel;
  throw Error("Resize '" + node.name + "': coordinate_transformation_mode '" + mode + "' is not supported on the cuda backend");
}

int nearest_mode(const Node& node) {
  const std::string mode = node.attr_string("nearest_mode", "round_prefer_floor");
  if (mode == "floor") return kNearestFloor;
  if (mode == "ceil") return kNearestCeil;
  if (mode == "round_prefer_floor") return kNearestRoundPreferFloor;
  if (mode == "round_prefer_ceil") return kNearestRoundPreferCeil;
  throw Error("Resize '" + node.name + "': nearest_mode '" + mode + "' is not supported on the cuda backend");
}

class ResizeLayer final : public Layer {
 public:
  ResizeLayer(const Step& step, const Graph& graph, const AddressBook& book) : Layer(step.node) {
    const Node& node = graph.nodes[static_cast<std::size_t>(step.node)];
    const TensorRef& x = step.inputs[0];
    params_.window = window_sizes(x, step.output);
    const Window2d& w = params_.window;
    // Scales as given (ONNX maps coordinates with them); from the sizes when only sizes are given.
    const std::size_t scales_input = node.opset >= 11 ? 2 : 1;
    std::vector<float> scales;
    if (node.has_input(scales_input) && graph.value(node.inputs[scales_input]).is_constant()) {
      scales = graph.value(node.inputs[scales_input]).constant->to_float_vector();
    }
    params_.scale_h = scales.size() == 4 ? scales[2] : static_cast<float>(w.out_h) / static_cast<float>(w.in_h);
    params_.scale_w = scales.size() == 4 ? scales[3] : static_cast<float>(w.out_w) / static_cast<float>(w.in_w);
    params_.coordinate = coordinate_mode(node);
    params_.nearest = nearest_mode(node);
    params_.x = operand_of(x);
    params_.y = operand_of(step.output);
    x_ = book.address(x);
    y_ = book.address(step.output);
  }
  void enqueue(const LaunchArgs& args) const override {
    ResizeNearestParams p = params_;
    p.x.data = x_.in(args.arena);
    p.y.data = y_.in(args.arena);
    launch_resize_nearest(p, args.stream);
  }

 private:
  ResizeNearestParams params_;
  DeviceAddress x_, y_;
};

class SoftmaxLayer final : public Layer {
 public:
  SoftmaxLayer(const Step& step, const Node& node, const AddressBook& book) : Layer(step.node) {
    const TensorRef& x = step.inputs[0];
    const TensorRef& y = step.output;
    const int rank = static_cast<int>(x.shape.size());
    const int axis = normalize_axis(node.attr_int("axis", node.opset >= 13 ? -1 : 1), x.shape.size());
    params_.axis_length = x.shape[static_cast<std::size_t>(axis)];
    params_.x_axis_stride = x.strides[static_cast<std::size_t>(axis)];
    params_.y_axis_stride = y.strides[static_cast<std::size_t>(axis)];
    Shape rows;
    std::vector<std::int64_t> xs, ys;
    for (int d = 0; d < rank; ++d) {
      if (d == axis) continue;
      rows.push_back(x.shape[static_cast<std::size_t>(d)]);
      xs.push_back(x.strides[static_cast<std::size_t>(d)]);
      ys.push_back(y.strides[static_cast<std::size_t>(d)]);
    }
    const IterationSpace space = collapse_dims(rows, {xs, ys});
    params_.rank = static_cast<int>(space.dims.size());
    params_.rows = element_count(space.dims);
    check_count(params_.rows * params_.axis_length);
    params_.x.dtype = x.dtype == DataType::kFloat16 ? kKernelF16 : kKernelF32;
    params_.y.dtype = y.dtype == DataType::kFloat16 ? kKernelF16 : kKernelF32;
    for (int d = 0; d < params_.rank; ++d) {
      params_.dims[d] = space.dims[static_cast<std::size_t>(d)];
      params_.x.strides[d] = space.strides[0][static_cast<std::size_t>(d)];
      params_.y.strides[d] = space.strides[1][static_cast<std::size_t>(d)];
    }
    x_ = book.address(x);
    y_ = book.address(y);
  }
  void enqueue(const LaunchArgs& args) const override {
    SoftmaxParams p = params_;
    p.x.data = x_.in(args.arena);
    p.y.data = y_.in(args.arena);
    launch_softmax(p, args.stream);
  }

 private:
  SoftmaxParams params_;
  DeviceAddress x_, y_;
};

}  // namespace

ElementwiseParams bias_activation_params(const TensorRef& y, bool has_bias, ops::Activation activation) {
  TensorRef bias;
  bias.dtype = DataType::kFloat32;
  bias.shape = y.shape;
  bias.strides.assign(y.shape.size(), 0);
  bias.strides[1] = 1;
  std::vector<const TensorRef*> operands{&y};
  if (has_bias) operands.push_back(&bias);
  ElementwiseParams p = elementwise_params(operands, y);
  p.op = has_bias ? kOpAdd : kOpCopy;
  p.activation = kernel_activation(activation);
  return p;
}

ElementwiseParams residual_add_params(const TensorRef& y, const TensorRef& residual) {
  ElementwiseParams p = elementwise_params({&y, &residual}, y);
  p.op = kOpAdd;
  return p;
}

std::unique_ptr<Layer> make_elementwise_layer(const Step& step, const AddressBook& book) {
  return std::make_unique<ElementwiseLayer>(step, book);
}
std::unique_ptr<Layer> make_maxpool_layer(const Step& step, const Node& node, const AddressBook& book) {
  return std::make_unique<MaxPoolLayer>(step, node, book);
}
std::unique_ptr<Layer> make_resize_layer(const Step& step, const Graph& graph, const AddressBook& book) {
  return std::make_unique<ResizeLayer>(step, graph, book);
}
std::unique_ptr<Layer> make_softmax_layer(const Step& step, const Node& node, const AddressBook& book) {
  return std::make_unique<SoftmaxLayer>(step, node, book);
}

}  // namespace detstream::inference::cuda
