#include "postprocess/detection_json.h"

#include <gtest/gtest.h>

#include <vector>

namespace detstream::postprocess {
namespace {

TEST(DetectionJson, WritesTheDocumentedShapeInOrder) {
  const std::vector<Detection> detections{{0, 0.9f, {1, 2, 3, 4}}, {7, 0.5f, {10, 20, 30, 40}}};
  const auto json = detections_to_json("bus.jpg", detections, {"person", "bicycle"});
  EXPECT_EQ(json.dump().rfind("{\"image\":\"bus.jpg\",\"detections\":[{\"class_id\":0,\"class_name\":\"person\"", 0), 0u);
  ASSERT_EQ(json.at("detections").size(), 2u);
  const auto& second = json.at("detections")[1];
  EXPECT_EQ(second.at("class_name"), "class7");  // beyond the names: fallback
  EXPECT_FLOAT_EQ(second.at("confidence").get<float>(), 0.5f);
  EXPECT_EQ(second.at("box_xyxy").size(), 4u);
  EXPECT_FLOAT_EQ(second.at("box_xyxy")[3].get<float>(), 40.0f);
}

TEST(DetectionJson, NumbersPrintAsTheirShortestFloatForm) {
  const std::vector<Detection> detections{{0, 0.9071069359779358f, {671.8162231445313f, 1, 2, 3}}};
  const std::string text = detections_to_json("a.jpg", detections, {"person"}).dump();
  EXPECT_NE(text.find("\"confidence\":0.90710694,"), std::string::npos) << text;  // 8 digits: a float's shortest
  EXPECT_NE(text.find("671.8162"), std::string::npos) << text;
  EXPECT_EQ(text.find("671.8162231445313"), std::string::npos) << text;
}

TEST(DetectionJson, EmptyListStaysAnArray) {
  const auto json = detections_to_json("x.png", {}, {});
  EXPECT_TRUE(json.at("detections").is_array());
  EXPECT_TRUE(json.at("detections").empty());
}

TEST(DetectionIou, Basics) {
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0f);
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0f / 150.0f);
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {20, 20, 30, 30}), 0.0f);
  EXPECT_FLOAT_EQ(iou({0, 0, 0, 0}, {0, 0, 0, 0}), 0.0f);
}

}  // namespace
}  // namespace detstream::postprocess
