// ReconnectingSource with scripted inner sources: backoff schedule, frame numbering and pts
// across outages, outage accounting, giving up, and stop() interrupting a backoff wait.
#include "pipeline/sources/reconnecting_source.h"

#include <gtest/gtest.h>

#include <deque>
#include <stdexcept>
#include <thread>

namespace detstream::pipeline {
namespace {

// Delivers `frames` frames (pts from 0 at 100 fps, a restarted stream clock), then fails.
class ScriptedSource final : public FrameSource {
 public:
  explicit ScriptedSource(int frames) : frames_(frames) {
    info_.description = "scripted stream";
    info_.fps = 100.0;
    info_.live = true;
  }
  const SourceInfo& info() const override { return info_; }
  ReadResult read(Frame& frame) override {
    if (stopped_) return ReadResult::kStopped;
    if (delivered_ == frames_) return ReadResult::kError;
    frame.pts_ns = delivered_++ * 10'000'000;
    frame.number = 999;  // the wrapper renumbers
    frame.after_gap = false;
    return ReadResult::kFrame;
  }
  void stop() override { stopped_ = true; }
  std::string last_error() const override { return "connection reset"; }

 private:
  SourceInfo info_;
  int frames_;
  int delivered_ = 0;
  std::atomic<bool> stopped_{false};
};

// Opens follow a script: a number of frames to deliver, or -1 for an open that throws.
struct Script {
  std::deque<int> opens;
  int opened = 0;
  ReconnectingSource::Opener opener() {
    return [this](const std::atomic<bool>&) -> std::unique_ptr<FrameSource> {
      ++opened;
      if (opens.empty()) throw std::runtime_error("connection refused");
      const int frames = opens.front();
      opens.pop_front();
      if (frames < 0) throw std::runtime_error("connection refused");
      return std::make_unique<ScriptedSource>(frames);
    };
  }
};

TEST(ReconnectPolicy, BackoffDoublesUpToTheCap) {
  const ReconnectPolicy policy{-1, 0.5, 4.0};
  EXPECT_DOUBLE_EQ(policy.delay_before_attempt(0), 0.5);
  EXPECT_DOUBLE_EQ(policy.delay_before_attempt(1), 1.0);
  EXPECT_DOUBLE_EQ(policy.delay_before_attempt(2), 2.0);
  EXPECT_DOUBLE_EQ(policy.delay_before_attempt(3), 4.0);
  EXPECT_DOUBLE_EQ(policy.delay_before_attempt(10), 4.0);
  EXPECT_DOUBLE_EQ(policy.delay_before_attempt(100000), 4.0);
  EXPECT_TRUE(policy.may_attempt(1000));
  EXPECT_FALSE((ReconnectPolicy{2, 0.5, 4.0}.may_attempt(2)));
  EXPECT_FALSE((ReconnectPolicy{0, 0.5, 4.0}.may_attempt(0)));
}

TEST(ReconnectingSource, FirstOpenFailureIsThrownNotRetried) {
  Script script{{-1}};
  EXPECT_THROW(ReconnectingSource(script.opener(), ReconnectPolicy{5, 0.0, 0.0}), std::runtime_error);
  EXPECT_EQ(script.opened, 1);
}

TEST(ReconnectingSource, OutagesKeepNumberingAndShiftTimestampsWithoutInventingFrames) {
  Script script{{3, -1, -1, 2, 2}};
  ReconnectingSource source(script.opener(), ReconnectPolicy{5, 0.01, 0.02});
  std::vector<Frame> frames;
  Frame frame;
  while (source.read(frame) == ReadResult::kFrame) frames.push_back(frame);
  // 3 + 2 + 2 delivered frames; then the script runs out of opens: 5 refused attempts, gave up.
  ASSERT_EQ(frames.size(), 7u);
  for (std::size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i].number, static_cast<std::int64_t>(i));
  EXPECT_FALSE(frames[0].after_gap);
  EXPECT_TRUE(frames[3].after_gap);
  EXPECT_FALSE(frames[4].after_gap);
  EXPECT_TRUE(frames[5].after_gap);
  for (std::size_t i = 1; i < frames.size(); ++i) EXPECT_GT(frames[i].pts_ns, frames[i - 1].pts_ns) << i;
  // After an outage the timeline advances by at least the backoff waited (>= 10 + 20 + 20 ms).
  EXPECT_GE(frames[3].pts_ns - frames[2].pts_ns, 40'000'000);
  const ConnectionStats& stats = *source.connection();
  EXPECT_EQ(stats.reconnects, 2);
  EXPECT_EQ(stats.failed_attempts, 2 + 5);
  ASSERT_EQ(stats.outages.size(), 3u);
  EXPECT_EQ(stats.outages[0].after_frame, 2);
  EXPECT_EQ(stats.outages[0].attempts, 3);
  EXPECT_TRUE(stats.outages[0].recovered);
  EXPECT_EQ(stats.outages[0].reason, "connection reset");
  EXPECT_GE(stats.outages[0].frames_missing, 3);  // >= 40 ms at 100 fps
  EXPECT_EQ(stats.outages[1].attempts, 1);
  EXPECT_FALSE(stats.outages[2].recovered);
  EXPECT_EQ(stats.outages[2].attempts, 5);
  EXPECT_TRUE(stats.gave_up);
  EXPECT_NE(source.last_error().find("after 5 reconnect attempt(s)"), std::string::npos) << source.last_error();
  EXPECT_NE(source.last_error().find("connection refused"), std::string::npos) << source.last_error();
}

TEST(ReconnectingSource, ZeroAttemptsGivesUpAtTheFirstDrop) {
  Script script{{2, 5}};
  ReconnectingSource source(script.opener(), ReconnectPolicy{0, 0.0, 0.0});
  Frame frame;
  EXPECT_EQ(source.read(frame), ReadResult::kFrame);
  EXPECT_EQ(source.read(frame), ReadResult::kFrame);
  EXPECT_EQ(source.read(frame), ReadResult::kEndOfStream);
  EXPECT_TRUE(source.connection()->gave_up);
  EXPECT_EQ(script.opened, 1);
}

TEST(ReconnectingSource, StopInterruptsALongBackoff) {
  Script script{{1}};
  ReconnectingSource source(script.opener(), ReconnectPolicy{-1, 30.0, 30.0});
  Frame frame;
  ASSERT_EQ(source.read(frame), ReadResult::kFrame);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    source.stop();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(source.read(frame), ReadResult::kStopped);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(source.connection()->gave_up);
  EXPECT_EQ(script.opened, 1);
}

}  // namespace
}  // namespace detstream::pipeline
