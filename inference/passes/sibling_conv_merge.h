// Convolutions that read the same input with the same attributes (kernel, strides, pads,
// dilations, one group, fused activation) become one convolution over their weights stacked
// along the output channels, followed by a channel Split that gives back each one's output.
// YOLOv8's detection head has such a pair at every level (box and class branch). One launch
// instead of two pays where launches, not arithmetic, bound the time: the CUDA backend applies it
// at fp16, where its convolutions read the Split's channel slices in place (a view, no copy).
// Not in default_passes(): a backend that would copy the slices would lose.
#pragma once

#include "inference/passes/pass.h"

namespace detstream::inference {

class SiblingConvMerge final : public Pass {
 public:
  std::string_view name() const override { return "sibling-conv-merge"; }
  bool apply(Graph& graph) const override;
};

}  // namespace detstream::inference
