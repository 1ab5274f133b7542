// GstSource on a live GStreamer source read more slowly than it produces: the appsink keeps only
// the newest frame (low latency) and the frames it dropped are counted from the timestamp gaps,
// so the report can say where frames were lost.
#include <gtest/gtest.h>

#include <thread>

#include "pipeline/sources/gst_source.h"

namespace detstream::pipeline {
namespace {

TEST(GstSourceLive, SlowReaderGetsNewestFramesAndCountsTheSkippedOnes) {
  constexpr int kProduced = 30;  // 0.3 s at 100 fps
  SourceInfo hints;
  hints.description = "live test pattern";
  hints.live = true;
  GstSource source("videotestsrc is-live=true num-buffers=" + std::to_string(kProduced) +
                       " ! video/x-raw,framerate=100/1,width=64,height=48 ! videoconvert ! video/x-raw,format=BGR"
                       " ! appsink name=sink sync=false max-buffers=1 drop=true",
                   hints, GstSourceTimeouts{5.0, 0.0, nullptr});
  Frame frame;
  int received = 0, after_gap = 0;
  while (source.read(frame) == ReadResult::kFrame) {
    ++received;
    if (frame.after_gap) ++after_gap;
    frame.after_gap = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // a pipeline running at 25 fps
  }
  EXPECT_LT(received, kProduced / 2);
  EXPECT_GE(after_gap, 1);
  EXPECT_EQ(received + static_cast<int>(source.frames_skipped()), kProduced)
      << received << " received, " << source.frames_skipped() << " counted as skipped";
}

}  // namespace
}  // namespace detstream::pipeline
