#include "pipeline/render/overlay.h"

#include <gtest/gtest.h>

#include <vector>

#include "inference/core/error.h"

namespace detstream::pipeline {
namespace {

TEST(Overlay, DrawsTheBoxInItsClassColourAndLeavesTheRestAlone) {
  cv::Mat image(200, 300, CV_8UC3, cv::Scalar(0, 0, 0));
  const std::vector<postprocess::Detection> detections{{5, 0.87f, {50, 80, 150, 180}}};
  OverlayStyle style;
  style.line_width = 2;
  draw_detections(image, detections, {"person", "bicycle", "car", "motorcycle", "airplane", "bus"}, style);
  const cv::Scalar colour = class_color(5);
  const cv::Vec3b edge = image.at<cv::Vec3b>(130, 50);  // on the left edge, below the label
  EXPECT_EQ(edge, cv::Vec3b(static_cast<uchar>(colour[0]), static_cast<uchar>(colour[1]),
                            static_cast<uchar>(colour[2])));
  EXPECT_EQ(image.at<cv::Vec3b>(130, 100), cv::Vec3b(0, 0, 0));  // inside the box
  EXPECT_EQ(image.at<cv::Vec3b>(10, 250), cv::Vec3b(0, 0, 0));   // far away
  // The label is drawn above the box: something non-black just above its top-left corner.
  EXPECT_GT(cv::countNonZero(image(cv::Rect(52, 70, 20, 8)).reshape(1)), 0);
}

TEST(Overlay, ColoursDifferPerClassAndCycle) {
  EXPECT_NE(class_color(0), class_color(1));
  EXPECT_EQ(class_color(3), class_color(23));
}

TEST(Overlay, RefusesNonBgrImages) {
  cv::Mat grey(10, 10, CV_8UC1);
  EXPECT_THROW(draw_detections(grey, {}, {}), inference::Error);
}

}  // namespace
}  // namespace detstream::pipeline
