// The layer of a fused detection head (StepKind::kDetectHead): the kernel's parameter block
// (detect_head.h) from the lowered step and the matched head (head_fusion.h), and the weights of
// the last level's final convolutions where the lowering folded them into the step.
#include <algorithm>

#include "inference/core/error.h"
#include "inference/cuda/detect_head.h"
#include "inference/cuda/device_memory.h"
#include "inference/cuda/layer.h"

namespace detstream::inference::cuda {

static_assert(kHeadMaxLevels <= kDetectHeadMaxLevels && kHeadMaxBins <= kDetectHeadMaxBins,
              "the matcher accepts only heads the kernel's parameter block holds");
static_assert(kFoldedHeadBins == kFoldedDetectBins && kFoldedHeadMaxClasses == kFoldedDetectMaxClasses &&
                  kFoldedHeadMaxChannels == kFoldedDetectMaxChannels && kFoldedHeadMaxWeightBytes == kFoldedDetectMaxWeightBytes,
              "the lowering folds only convolutions the kernel takes");

namespace {

// Largest element offset a strided operand reaches (the kernel indexes in 64 bits but counts
// work items in 32).
std::int64_t reach(const TensorRef& ref) {
  std::int64_t r = 0;
  for (std::size_t d = 0; d < ref.shape.size(); ++d) r += (ref.shape[d] - 1) * std::abs(ref.strides[d]);
  return r;
}

// Appends a 1x1 convolution's weights (O x C x 1 x 1), input-channel major ([c][o]), to `weights`
// and its bias (zeros without one) to `biases`; returns C.
int append_folded_conv(std::vector<float>& weights, std::vector<float>& biases, const Graph& graph, int node) {
  const Node& conv = graph.nodes[static_cast<std::size_t>(node)];
  const Tensor& w = *graph.value(conv.inputs[1]).constant;
  const std::int64_t outputs = w.shape()[0], channels = w.shape()[1];
  const std::vector<float> oc = w.to_float_vector();
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t o = 0; o < outputs; ++o) weights.push_back(oc[static_cast<std::size_t>(o * channels + c)]);
  if (conv.has_input(2)) {
    const std::vector<float> b = graph.value(conv.inputs[2]).constant->to_float_vector();
    biases.insert(biases.end(), b.begin(), b.end());
  } else {
    biases.insert(biases.end(), static_cast<std::size_t>(outputs), 0.0f);
  }
  return static_cast<int>(channels);
}

class DetectHeadLayer final : public Layer {
 public:
  DetectHeadLayer(const Step& step, const DetectHead& head, const Graph& graph, const AddressBook& book) : Layer(step.node) {
    const std::size_t levels = head.levels.size();
    if (step.inputs.size() != 2 * levels || levels > static_cast<std::size_t>(kDetectHeadMaxLevels)) {
      throw Error("internal: detection head step with " + std::to_string(step.inputs.size()) + " inputs for " +
                  std::to_string(levels) + " levels");
    }
    const std::int64_t items = head.batch * (4 + head.classes) * head.anchors;
    if (items >= (std::int64_t{1} << 31))
      throw Error("detection head of " + std::to_string(items) + " outputs: too large for its kernel");
    DetectHeadParams& p = params_;
    p.batch = static_cast<int>(head.batch);
    p.anchors = static_cast<int>(head.anchors);
    p.classes = static_cast<int>(head.classes);
    p.bins = static_cast<int>(head.bin_weights.size());
    p.levels = static_cast<int>(levels);
    std::copy(head.bin_weights.begin(), head.bin_weights.end(), p.bin_weights);
    p.anchor_offset = head.anchor_offset;
    p.divisor = head.divisor;
    int first = 0;
    for (std::size_t l = 0; l < levels; ++l) {
      const DetectHeadLevel& level = head.levels[l];
      DetectHeadLevelParams& lp = p.level[l];
      lp.box = operand_of(step.inputs[2 * l]);
      lp.cls = operand_of(step.inputs[2 * l + 1]);
      lp.height = static_cast<int>(level.height);
      lp.width = static_cast<int>(level.width);
      lp.first_anchor = first;
      lp.stride = level.stride;
      first += lp.height * lp.width;
      box_[l] = book.address(step.inputs[2 * l]);
      cls_[l] = book.address(step.inputs[2 * l + 1]);
    }
    p.y = operand_of(step.output);
    y_ = book.address(step.output);
    for (const TensorRef& ref : step.inputs) check_reach(ref);
    check_reach(step.output);
    if (head.levels.back().box_conv >= 0) fold(graph, head.levels.back());
  }

  void enqueue(const LaunchArgs& args) const override {
    DetectHeadParams p = params_;
    for (int l = 0; l < p.levels; ++l) {
      p.level[l].box.data = box_[static_cast<std::size_t>(l)].in(args.arena);
      p.level[l].cls.data = cls_[static_cast<std::size_t>(l)].in(args.arena);
    }
    p.y.data = y_.in(args.arena);
    if (folded_.size()) return launch_detect_head_folded(p, convs_, args.stream);
    launch_detect_head(p, args.stream);
  }
  std::string tactic() const override { return folded_.size() ? "detect_head + last level's 1x1 convs" : "detect_head"; }

 private:
  static void check_reach(const TensorRef& ref) {
    if (reach(ref) >= (std::int64_t{1} << 31)) throw Error("detection head operand too large for its kernel");
  }

  // The pack launch_detect_head_folded takes (detect_head.h).
  void fold(const Graph& graph, const DetectHeadLevel& level) {
    std::vector<float> pack, biases;
    convs_.box_channels = append_folded_conv(pack, biases, graph, level.box_conv);
    convs_.cls_channels = append_folded_conv(pack, biases, graph, level.cls_conv);
    pack.insert(pack.end(), biases.begin(), biases.end());
    pack.resize(static_cast<std::size_t>(folded_head_pack_floats(convs_.box_channels, convs_.cls_channels, params_.classes)), 0.0f);
    folded_ = DeviceBuffer(pack.size() * sizeof(float));
    folded_.upload(pack.data(), pack.size() * sizeof(float));
    convs_.pack = static_cast<const float*>(folded_.get());
  }

  DetectHeadParams params_;
  DeviceAddress box_[kDetectHeadMaxLevels], cls_[kDetectHeadMaxLevels], y_;
  DeviceBuffer folded_;  // empty unless the last level's convolutions are folded in
  FoldedHeadConvs convs_;
};

}  // namespace

std::unique_ptr<Layer> make_detect_head_layer(const Step& step, const DetectHead& head, const Graph& graph, const AddressBook& book) {
  return std::make_unique<DetectHeadLayer>(step, head, graph, book);
}

}  // namespace detstream::inference::cuda
