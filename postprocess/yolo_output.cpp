#include "postprocess/yolo_output.h"

#include "inference/core/error.h"

namespace detstream::postprocess {

YoloOutputLayout describe_yolo_output(const inference::Shape& shape, std::optional<int> expected_classes,
                                      const std::string& output_name) {
  const std::string what = "model output '" + output_name + "' has shape " + inference::to_string(shape);
  const std::string expected = "a YOLO detection head's (batch, 4 + classes, anchors), e.g. 1x84x8400";
  if (shape.size() != 3) throw inference::Error(what + "; expected " + expected);
  if (!inference::is_static(shape)) throw inference::Error(what + " with unknown dimensions; build the model first");
  if (shape[1] < 5 || shape[2] < 1 || shape[0] < 1) throw inference::Error(what + "; expected " + expected);
  YoloOutputLayout layout;
  layout.batch = shape[0];
  layout.num_classes = static_cast<int>(shape[1] - 4);
  layout.num_anchors = shape[2];
  if (expected_classes && *expected_classes != layout.num_classes) {
    throw inference::Error(what + " but its metadata names " + std::to_string(*expected_classes) +
                           " classes (4 + " + std::to_string(*expected_classes) + " = " +
                           std::to_string(4 + *expected_classes) +
                           " channels expected); only plain detection heads are supported, not "
                           "segmentation, pose or oriented-box heads");
  }
  // Without metadata, more channels than anchors is the tell of a transposed or end-to-end output.
  if (!expected_classes && shape[1] > shape[2]) {
    throw inference::Error(what + ": more channels than anchors looks transposed or like an end-to-end (NMS) "
                           "export; expected " + expected + " (export with nms=False)");
  }
  return layout;
}

}  // namespace detstream::postprocess
