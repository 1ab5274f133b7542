#include "pipeline/preprocess/letterbox.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "inference/core/error.h"
#include "support/shared_data.h"
#include "support/tensor_compare.h"

namespace detstream::pipeline {
namespace {

struct Case {
  const char* image;
  const char* tag;
  int imgsz;
};

class LetterboxGolden : public ::testing::TestWithParam<Case> {};

TEST_P(LetterboxGolden, MatchesUltralyticsTensorAndParameters) {
  const Case c = GetParam();
  DETSTREAM_REQUIRE_SHARED(image_path, std::string("images/") + c.image);
  DETSTREAM_REQUIRE_SHARED(input_path, std::string("golden/") + c.tag + ".input.f32");
  DETSTREAM_REQUIRE_SHARED(json_path, std::string("golden/") + c.tag + ".json");
  const cv::Mat image = cv::imread(image_path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  const std::vector<float> expected = testing::read_f32_file(input_path);

  Letterboxer letterboxer(c.imgsz, c.imgsz);
  ASSERT_EQ(expected.size(), letterboxer.tensor_size());
  std::vector<float> tensor(letterboxer.tensor_size(), -1.0f);
  const auto g = letterboxer.run(image, tensor);

  double max_diff = 0.0;
  std::size_t differing = 0;
  for (std::size_t i = 0; i < tensor.size(); ++i) {
    const double d = std::fabs(static_cast<double>(tensor[i]) - expected[i]);
    max_diff = std::max(max_diff, d);
    differing += d > 0.0;
  }
  std::printf("[parity] letterbox %s: max |diff| %.3g, %zu of %zu values differ\n", c.tag, max_diff, differing,
              tensor.size());
  // Same OpenCV resize and the same float32 arithmetic: bit-exact.
  EXPECT_EQ(max_diff, 0.0);

  std::ifstream file(json_path);
  const auto lb = nlohmann::json::parse(file).at("letterbox");
  EXPECT_DOUBLE_EQ(g.scale, lb.at("scale").get<double>());
  EXPECT_EQ(g.pad_left, lb.at("pad_left").get<int>());
  EXPECT_EQ(g.pad_top, lb.at("pad_top").get<int>());
  EXPECT_EQ(g.resized_width, lb.at("resized")[0].get<int>());
  EXPECT_EQ(g.resized_height, lb.at("resized")[1].get<int>());
  EXPECT_EQ(g.source_width, image.cols);
  EXPECT_EQ(g.source_height, image.rows);
}

INSTANTIATE_TEST_SUITE_P(Goldens, LetterboxGolden,
                         ::testing::Values(Case{"bus.jpg", "bus_640", 640}, Case{"zidane.jpg", "zidane_640", 640},
                                           Case{"bus.jpg", "bus_yolo11n_320", 320},
                                           Case{"zidane.jpg", "zidane_yolo11n_320", 320}),
                         [](const auto& info) { return std::string(info.param.tag); });

TEST(Letterbox, PadsWithGreyAndWritesPlanarRgb) {
  // 4x2 pure blue (BGR 255,0,0) into 8x8: scale 2, resized 8x4, 2 rows of padding top and bottom.
  const cv::Mat blue(2, 4, CV_8UC3, cv::Scalar(255, 0, 0));
  Letterboxer letterboxer(8, 8);
  std::vector<float> t(letterboxer.tensor_size());
  const auto g = letterboxer.run(blue, t);
  EXPECT_EQ(g.pad_top, 2);
  EXPECT_EQ(g.pad_bottom, 2);
  const float grey = 114.0f * (1.0f / 255.0f);
  auto at = [&](int channel, int y, int x) { return t[static_cast<std::size_t>((channel * 8 + y) * 8 + x)]; };
  for (int ch = 0; ch < 3; ++ch) {
    EXPECT_FLOAT_EQ(at(ch, 0, 0), grey);
    EXPECT_FLOAT_EQ(at(ch, 7, 5), grey);
  }
  EXPECT_FLOAT_EQ(at(0, 3, 3), 0.0f);  // R
  EXPECT_FLOAT_EQ(at(1, 3, 3), 0.0f);  // G
  EXPECT_FLOAT_EQ(at(2, 3, 3), 1.0f);  // B
}

TEST(Letterbox, SameSizeImageIsCopiedWithoutResize) {
  cv::Mat image(4, 4, CV_8UC3);
  for (int i = 0; i < 16; ++i) image.at<cv::Vec3b>(i / 4, i % 4) = cv::Vec3b(i, 2 * i, 3 * i);
  Letterboxer letterboxer(4, 4);
  std::vector<float> t(letterboxer.tensor_size());
  letterboxer.run(image, t);
  for (int i = 0; i < 16; ++i) {
    EXPECT_FLOAT_EQ(t[static_cast<std::size_t>(i)], static_cast<float>(3 * i) * (1.0f / 255.0f));  // R plane
    EXPECT_FLOAT_EQ(t[static_cast<std::size_t>(32 + i)], static_cast<float>(i) * (1.0f / 255.0f));  // B plane
  }
}

TEST(Letterbox, GreyAndBgraImagesAreAccepted) {
  Letterboxer letterboxer(16, 16);
  std::vector<float> grey_tensor(letterboxer.tensor_size());
  std::vector<float> bgr_tensor(letterboxer.tensor_size());
  const cv::Mat grey(10, 20, CV_8UC1, cv::Scalar(77));
  letterboxer.run(grey, grey_tensor);
  letterboxer.run(cv::Mat(10, 20, CV_8UC3, cv::Scalar(77, 77, 77)), bgr_tensor);
  EXPECT_EQ(grey_tensor, bgr_tensor);
  letterboxer.run(cv::Mat(10, 20, CV_8UC4, cv::Scalar(77, 77, 77, 0)), grey_tensor);
  EXPECT_EQ(grey_tensor, bgr_tensor);
}

TEST(Letterbox, ReuseAcrossFramesIsDeterministic) {
  DETSTREAM_REQUIRE_SHARED(bus_path, "images/bus.jpg");
  DETSTREAM_REQUIRE_SHARED(zidane_path, "images/zidane.jpg");
  const cv::Mat bus = cv::imread(bus_path), zidane = cv::imread(zidane_path);
  Letterboxer letterboxer(320, 320);
  std::vector<float> first(letterboxer.tensor_size()), again(letterboxer.tensor_size());
  letterboxer.run(bus, first);
  letterboxer.run(zidane, again);
  letterboxer.run(bus, again);
  EXPECT_EQ(first, again);
}

TEST(Letterbox, RejectsBadInput) {
  Letterboxer letterboxer(8, 8);
  std::vector<float> small(10);
  std::vector<float> t(letterboxer.tensor_size());
  EXPECT_THROW(letterboxer.run(cv::Mat(2, 2, CV_8UC3), small), inference::Error);
  EXPECT_THROW(letterboxer.run(cv::Mat(), t), inference::Error);
  EXPECT_THROW(letterboxer.run(cv::Mat(2, 2, CV_32FC3), t), inference::Error);
  EXPECT_THROW(Letterboxer(0, 8), inference::Error);
}

}  // namespace
}  // namespace detstream::pipeline
