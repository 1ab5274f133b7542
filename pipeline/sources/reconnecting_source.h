// ReconnectingSource: keeps a live source (RTSP stream, camera) going across drops. When the
// inner source fails or ends, it is closed, and reopened after a capped exponential backoff
// (ReconnectPolicy) until frames flow again or the policy's attempts are used up.
//
// What downstream sees: frames keep their numbering (numbers count delivered frames, continuous);
// the first frame after an outage has after_gap set and a pts_ns that jumps by the outage's wall
// time, so the gap is visible in the timestamps. Nothing is invented: no black or repeated frames
// fill an outage; it is reported (ConnectionStats: reconnects, outage seconds, frames missing at
// the nominal rate). When the attempts are used up, read() returns kEndOfStream (the run ends
// cleanly and finalises its outputs) and connection()->gave_up is true.
//
// The first open happens in the constructor and is not retried: a wrong URL or a missing camera
// is an error at once (std::runtime_error from `open`).
// Thread-safety: read() from one thread; stop() from any (it also interrupts a backoff wait or
// a reconnect attempt in progress).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "pipeline/sources/frame_source.h"

namespace detstream::pipeline {

class ReconnectingSource final : public FrameSource {
 public:
  // `open` builds a fresh inner source; it may throw std::runtime_error, and should give up early
  // when `cancel` becomes true.
  using Opener = std::function<std::unique_ptr<FrameSource>(const std::atomic<bool>& cancel)>;
  // `log` receives one line per outage event (lost, reconnected, giving up); may be empty.
  using Logger = std::function<void(const std::string&)>;

  ReconnectingSource(Opener open, ReconnectPolicy policy, Logger log = {});
  ~ReconnectingSource() override;

  const SourceInfo& info() const override { return info_; }
  ReadResult read(Frame& frame) override;
  void stop() override;
  std::string last_error() const override { return error_; }
  const ConnectionStats* connection() const override { return &stats_; }
  std::uint64_t frames_skipped() const override { return skipped_by_closed_ + (inner_ ? inner_->frames_skipped() : 0); }

 private:
  // Closes the failed inner source and reopens it; false when stopped or the policy gives up.
  bool reconnect(const std::string& reason);
  bool wait_backoff(double seconds);
  void replace_inner(std::unique_ptr<FrameSource> next);
  void log(const std::string& line) const;

  Opener open_;
  ReconnectPolicy policy_;
  Logger log_;
  SourceInfo info_;
  std::unique_ptr<FrameSource> inner_;
  mutable std::mutex inner_mutex_;  // guards inner_ replacement against stop() from other threads
  std::condition_variable stop_signal_;
  std::atomic<bool> stopping_{false};
  ConnectionStats stats_;
  std::uint64_t skipped_by_closed_ = 0;  // frames_skipped() of inner sources already replaced
  std::string error_;

  std::int64_t next_number_ = 0;
  std::int64_t last_pts_out_ = -1;
  std::int64_t pts_offset_ = 0;
  bool have_pts_ = false;
  Clock::time_point last_frame_at_{};
  bool gap_pending_ = false;  // an outage ended: the next frame starts after a gap
};

}  // namespace detstream::pipeline
