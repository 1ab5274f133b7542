#include "postprocess/letterbox_geometry.h"

#include <gtest/gtest.h>

#include "inference/core/error.h"

namespace detstream::postprocess {
namespace {

TEST(RoundHalfEven, MatchesPythonRound) {
  EXPECT_EQ(round_half_even(0.5), 0.0);
  EXPECT_EQ(round_half_even(1.5), 2.0);
  EXPECT_EQ(round_half_even(2.5), 2.0);
  EXPECT_EQ(round_half_even(-0.5), -0.0);
  EXPECT_EQ(round_half_even(-1.5), -2.0);
  EXPECT_EQ(round_half_even(2.4999), 2.0);
  EXPECT_EQ(round_half_even(2.5001), 3.0);
}

TEST(LetterboxGeometry, BusAndZidaneAt640) {
  const auto bus = compute_letterbox_geometry(810, 1080, 640, 640);
  EXPECT_DOUBLE_EQ(bus.scale, 640.0 / 1080.0);
  EXPECT_EQ(bus.resized_width, 480);
  EXPECT_EQ(bus.resized_height, 640);
  EXPECT_EQ(bus.pad_left, 80);
  EXPECT_EQ(bus.pad_right, 80);
  EXPECT_EQ(bus.pad_top, 0);
  const auto zidane = compute_letterbox_geometry(1280, 720, 640, 640);
  EXPECT_DOUBLE_EQ(zidane.scale, 0.5);
  EXPECT_EQ(zidane.resized_height, 360);
  EXPECT_EQ(zidane.pad_top, 140);
  EXPECT_EQ(zidane.pad_bottom, 140);
}

TEST(LetterboxGeometry, OddPaddingGoesBottomRight) {
  // 100x99 -> 64x64: scale 0.64, resized 64x63 (63.36 rounds down), dh 0.5 -> top 0, bottom 1.
  const auto g = compute_letterbox_geometry(100, 99, 64, 64);
  EXPECT_EQ(g.resized_height, 63);
  EXPECT_EQ(g.pad_top, 0);
  EXPECT_EQ(g.pad_bottom, 1);
  EXPECT_EQ(g.pad_top + g.resized_height + g.pad_bottom, 64);
}

TEST(LetterboxGeometry, UpscalesSmallImagesAndKeepsTheTotalSize) {
  for (int w : {1, 7, 33, 320, 641, 1919}) {
    for (int h : {1, 9, 240, 480, 1081}) {
      const auto g = compute_letterbox_geometry(w, h, 640, 384);
      EXPECT_EQ(g.pad_left + g.resized_width + g.pad_right, 640) << w << "x" << h;
      EXPECT_EQ(g.pad_top + g.resized_height + g.pad_bottom, 384) << w << "x" << h;
      EXPECT_GE(g.pad_left, 0);
      EXPECT_GE(g.pad_top, 0);
    }
  }
  EXPECT_DOUBLE_EQ(compute_letterbox_geometry(32, 32, 640, 640).scale, 20.0);
}

TEST(LetterboxGeometry, UnpadFollowsScaleBoxesFromTheUnroundedSize) {
  // 801 * 0.64 = 512.64: the image is resized to 513 and placed at round(63.5 - 0.1) = 63, while
  // Ultralytics' scale_boxes subtracts round((640 - 512.64) / 2 - 0.1) = round(63.58) = 64.
  const auto g = compute_letterbox_geometry(801, 1000, 640, 640);
  EXPECT_EQ(g.resized_width, 513);
  EXPECT_EQ(g.pad_left, 63);
  EXPECT_EQ(g.unpad_x, 64);
}

TEST(LetterboxGeometry, RejectsEmptySizes) {
  EXPECT_THROW(compute_letterbox_geometry(0, 10, 640, 640), inference::Error);
  EXPECT_THROW(compute_letterbox_geometry(10, 10, 640, -1), inference::Error);
}

}  // namespace
}  // namespace detstream::postprocess
