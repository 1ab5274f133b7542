// The layer of a fused detection head (StepKind::kDetectHead): the kernel's parameter block
// (detect_head.h) from the lowered step and the matched head (head_fusion.h).
#include <algorithm>

#include "inference/core/error.h"
#include "inference/cuda/detect_head.h"
#include "inference/cuda/layer.h"

namespace detstream::inference::cuda {

static_assert(kHeadMaxLevels <= kDetectHeadMaxLevels && kHeadMaxBins <= kDetectHeadMaxBins,
              "the matcher accepts only heads the kernel's parameter block holds");

namespace {

// Largest element offset a strided operand reaches (the kernel indexes in 64 bits but counts
// work items in 32).
std::int64_t reach(const TensorRef& ref) {
  std::int64_t r = 0;
  for (std::size_t d = 0; d < ref.shape.size(); ++d) r += (ref.shape[d] - 1) * std::abs(ref.strides[d]);
  return r;
}

class DetectHeadLayer final : public Layer {
 public:
  DetectHeadLayer(const Step& step, const DetectHead& head, const AddressBook& book) : Layer(step.node) {
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
  }

  void enqueue(const LaunchArgs& args) const override {
    DetectHeadParams p = params_;
    for (int l = 0; l < p.levels; ++l) {
      p.level[l].box.data = box_[static_cast<std::size_t>(l)].in(args.arena);
      p.level[l].cls.data = cls_[static_cast<std::size_t>(l)].in(args.arena);
    }
    p.y.data = y_.in(args.arena);
    launch_detect_head(p, args.stream);
  }
  std::string tactic() const override { return "detect_head"; }

 private:
  static void check_reach(const TensorRef& ref) {
    if (reach(ref) >= (std::int64_t{1} << 31)) throw Error("detection head operand too large for its kernel");
  }

  DetectHeadParams params_;
  DeviceAddress box_[kDetectHeadMaxLevels], cls_[kDetectHeadMaxLevels], y_;
};

}  // namespace

std::unique_ptr<Layer> make_detect_head_layer(const Step& step, const DetectHead& head, const AddressBook& book) {
  return std::make_unique<DetectHeadLayer>(step, head, book);
}

}  // namespace detstream::inference::cuda
