#include "postprocess/yolo_output.h"

#include <gtest/gtest.h>

#include "inference/core/error.h"

namespace detstream::postprocess {
namespace {

std::string error_of(const inference::Shape& shape, std::optional<int> classes) {
  try {
    describe_yolo_output(shape, classes, "output0");
  } catch (const inference::Error& e) {
    return e.what();
  }
  return "";
}

TEST(YoloOutput, DescribesDetectionHeads) {
  const auto layout = describe_yolo_output({2, 84, 8400}, 80);
  EXPECT_EQ(layout.batch, 2);
  EXPECT_EQ(layout.num_classes, 80);
  EXPECT_EQ(layout.num_anchors, 8400);
  EXPECT_EQ(layout.image_stride(), 84 * 8400);
  EXPECT_EQ(describe_yolo_output({1, 6, 8400}, std::nullopt).num_classes, 2);
}

TEST(YoloOutput, RefusesOtherHeadsClearly) {
  // Segmentation head (4 + 80 + 32 mask coefficients) on a model whose metadata names 80 classes.
  const std::string seg = error_of({1, 116, 8400}, 80);
  EXPECT_NE(seg.find("output0"), std::string::npos) << seg;
  EXPECT_NE(seg.find("1x116x8400"), std::string::npos) << seg;
  EXPECT_NE(seg.find("84"), std::string::npos) << seg;
  // End-to-end export (1, 300, 6) and transposed outputs without metadata.
  EXPECT_NE(error_of({1, 300, 6}, std::nullopt).find("end-to-end"), std::string::npos);
  EXPECT_NE(error_of({1, 8400, 84}, std::nullopt).find("transposed"), std::string::npos);
  EXPECT_FALSE(error_of({1, 84}, 80).empty());
  EXPECT_FALSE(error_of({1, 4, 8400}, std::nullopt).empty());
  EXPECT_FALSE(error_of({1, -1, 8400}, std::nullopt).empty());
}

}  // namespace
}  // namespace detstream::postprocess
