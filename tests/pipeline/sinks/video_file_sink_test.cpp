#include "pipeline/sinks/video_file_sink.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "support/video_probe.h"

namespace detstream::pipeline {
namespace {

namespace fs = std::filesystem;

cv::Mat pattern(int i) {
  cv::Mat frame(240, 320, CV_8UC3, cv::Scalar(40, 80, 120));
  cv::circle(frame, {20 + i * 5, 120}, 15, {255, 255, 255}, -1);
  return frame;
}

TEST(VideoFileSink, WritesAPlayableMp4WithEveryFrame) {
  const fs::path out = fs::temp_directory_path() / "detstream_sink_test.mp4";
  fs::remove(out);
  {
    VideoFileSink sink(out.string(), 320, 240, 25.0);
    for (int i = 0; i < 37; ++i) ASSERT_TRUE(sink.write(pattern(i))) << sink.last_error();
    EXPECT_FALSE(fs::exists(out)) << "the file must not appear before it is finalised";
    ASSERT_TRUE(sink.finish()) << sink.last_error();
  }
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  EXPECT_EQ(testing::count_video_frames(out.string()), 37);
  fs::remove(out);
}

TEST(VideoFileSink, AnUnfinishedSinkLeavesNothingBehind) {
  const fs::path out = fs::temp_directory_path() / "detstream_sink_abandoned.mp4";
  fs::remove(out);
  {
    VideoFileSink sink(out.string(), 320, 240, 25.0);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(sink.write(pattern(i)));
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
}

TEST(VideoFileSink, RejectsAFrameOfTheWrongSize) {
  const fs::path out = fs::temp_directory_path() / "detstream_sink_size.mp4";
  VideoFileSink sink(out.string(), 320, 240, 25.0);
  EXPECT_FALSE(sink.write(cv::Mat(100, 100, CV_8UC3)));
  EXPECT_NE(sink.last_error().find("320x240"), std::string::npos);
}

TEST(VideoFileSink, UnwritableFolderFailsAtOnce) {
  EXPECT_THROW(VideoFileSink("/nonexistent-dir/out.mp4", 320, 240, 25.0), std::runtime_error);
}

}  // namespace
}  // namespace detstream::pipeline
