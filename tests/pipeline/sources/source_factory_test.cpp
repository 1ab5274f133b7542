#include "pipeline/sources/source_factory.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/shared_data.h"

namespace detstream::pipeline {
namespace {

TEST(SourceFactory, ReadsAVideoFileWithItsLengthAndTimestamps) {
  DETSTREAM_REQUIRE_SHARED(video, "videos/highway_cars_1280x720.mp4");
  auto source = open_source(video, {});
  EXPECT_EQ(source->info().width, 1280);
  EXPECT_EQ(source->info().height, 720);
  EXPECT_FALSE(source->info().live);
  EXPECT_GT(source->info().frame_count, 10);
  Frame frame;
  std::int64_t last_pts = -1;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(source->read(frame), ReadResult::kFrame) << source->last_error();
    EXPECT_EQ(frame.number, i);
    EXPECT_EQ(frame.image.cols, 1280);
    EXPECT_EQ(frame.image.type(), CV_8UC3);
    EXPECT_GT(frame.pts_ns, last_pts);
    last_pts = frame.pts_ns;
  }
}

TEST(SourceFactory, ReadsEveryFrameToTheEnd) {
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  auto source = open_source(video, {});
  Frame frame;
  std::int64_t frames = 0;
  ReadResult result;
  while ((result = source->read(frame)) == ReadResult::kFrame) ++frames;
  EXPECT_EQ(result, ReadResult::kEndOfStream);
  EXPECT_NEAR(static_cast<double>(frames), static_cast<double>(source->info().frame_count), 2.0);
}

TEST(SourceFactory, MissingFileIsAClearError) {
  try {
    open_source("/nonexistent/clip.mp4", {});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/clip.mp4"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
}

TEST(SourceFactory, CorruptVideoIsAClearError) {
  const auto path = std::filesystem::temp_directory_path() / "detstream_corrupt.mp4";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 20000; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  SourceOptions options;
  options.open_timeout_s = 5;
  EXPECT_THROW(open_source(path.string(), options), std::runtime_error);
  std::filesystem::remove(path);
}

TEST(SourceFactory, MissingCameraIsAClearError) {
  try {
    open_source("/dev/video97", {});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/video97"), std::string::npos);
  }
}

TEST(SourceFactory, DescribesLiveAndCsiPipelines) {
  const SourceSpec rtsp = describe_source("rtsp://127.0.0.1:8554/x", {});
  EXPECT_TRUE(rtsp.live);
  EXPECT_NE(rtsp.pipeline.find("rtspsrc"), std::string::npos);
  EXPECT_NE(rtsp.pipeline.find("drop=true"), std::string::npos);
  const SourceSpec csi = describe_source("csi://1", {});
  EXPECT_EQ(csi.kind, SourceKind::kCsiCamera);
  EXPECT_NE(csi.pipeline.find("nvarguscamerasrc sensor-id=1"), std::string::npos);
  EXPECT_NE(csi.pipeline.find("appsink"), std::string::npos);
}

TEST(SourceFactory, LiveSourcesKeepTheNewestFrameAndFilesLoseNothing) {
  SourceOptions options;
  options.rtsp_latency_ms = 250;
  const SourceSpec rtsp = describe_source("rtsp://127.0.0.1:8554/x", options);
  EXPECT_NE(rtsp.pipeline.find("latency=250 drop-on-latency=true"), std::string::npos) << rtsp.pipeline;
  EXPECT_NE(rtsp.pipeline.find("max-buffers=1 drop=true"), std::string::npos) << rtsp.pipeline;
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  const SourceSpec file = describe_source(video, options);
  EXPECT_FALSE(file.live);
  EXPECT_NE(file.pipeline.find("drop=false"), std::string::npos) << file.pipeline;
}

TEST(SourceFactory, ReadsAnImageFolderInNameOrder) {
  DETSTREAM_REQUIRE_SHARED(images, "images");
  auto source = open_source(images, {});
  EXPECT_EQ(source->info().frame_count, 2);
  Frame frame;
  ASSERT_EQ(source->read(frame), ReadResult::kFrame);
  EXPECT_EQ(frame.image.cols, 810);  // bus.jpg
  ASSERT_EQ(source->read(frame), ReadResult::kFrame);
  EXPECT_EQ(frame.image.cols, 1280);  // zidane.jpg
  EXPECT_EQ(source->read(frame), ReadResult::kEndOfStream);
}

}  // namespace
}  // namespace detstream::pipeline
