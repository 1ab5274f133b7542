#include "pipeline/sources/reconnecting_source.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace detstream::pipeline {

namespace {
std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}
}  // namespace

ReconnectingSource::ReconnectingSource(Opener open, ReconnectPolicy policy, Logger log)
    : open_(std::move(open)), policy_(policy), log_(std::move(log)) {
  inner_ = open_(stopping_);
  if (!inner_) throw std::runtime_error("the live source could not be opened");
  info_ = inner_->info();
  stats_.reconnecting = true;
}

ReconnectingSource::~ReconnectingSource() = default;

void ReconnectingSource::log(const std::string& line) const {
  if (log_) log_(line);
}

void ReconnectingSource::stop() {
  stopping_ = true;
  std::lock_guard lock(inner_mutex_);
  if (inner_) inner_->stop();
  stop_signal_.notify_all();
}

void ReconnectingSource::replace_inner(std::unique_ptr<FrameSource> next) {
  std::unique_ptr<FrameSource> old;
  {
    std::lock_guard lock(inner_mutex_);
    old = std::move(inner_);
    if (old) skipped_by_closed_ += old->frames_skipped();
    inner_ = std::move(next);
  }
  // The old source (a GStreamer pipeline going to NULL) is torn down outside the lock, so stop()
  // never waits for it.
}

bool ReconnectingSource::wait_backoff(double seconds) {
  std::unique_lock lock(inner_mutex_);
  stop_signal_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stopping_.load(); });
  return !stopping_;
}

ReadResult ReconnectingSource::read(Frame& frame) {
  while (true) {
    if (stopping_) return ReadResult::kStopped;
    const ReadResult result = inner_->read(frame);
    if (result == ReadResult::kStopped || stopping_) return ReadResult::kStopped;
    if (result == ReadResult::kFrame) break;
    const std::string reason = result == ReadResult::kError ? inner_->last_error() : info_.description + " ended";
    if (!reconnect(reason)) return stopping_ ? ReadResult::kStopped : ReadResult::kEndOfStream;
  }
  const auto now = Clock::now();
  frame.number = next_number_++;
  if (gap_pending_) {
    Outage& outage = stats_.outages.back();
    outage.seconds = std::chrono::duration<double>(now - last_frame_at_).count();
    outage.frames_missing = info_.fps > 0 ? std::max<std::int64_t>(0, std::llround(outage.seconds * info_.fps) - 1) : 0;
    outage.recovered = true;
    stats_.outage_s += outage.seconds;
    stats_.frames_missing += outage.frames_missing;
    frame.after_gap = true;
    // A new connection restarts the stream's clock: continue the timeline from the last frame,
    // advanced by the wall time the outage lasted.
    if (frame.pts_ns >= 0 && have_pts_) {
      pts_offset_ = last_pts_out_ + std::llround(outage.seconds * 1e9) - frame.pts_ns;
    }
    log("frames flow again from " + info_.description + " after " + seconds_text(outage.seconds) + " (about " +
        std::to_string(outage.frames_missing) + " frames missed)");
    gap_pending_ = false;
  }
  if (frame.pts_ns >= 0) {
    frame.pts_ns += pts_offset_;
    last_pts_out_ = frame.pts_ns;
    have_pts_ = true;
  }
  last_frame_at_ = now;
  return ReadResult::kFrame;
}

bool ReconnectingSource::reconnect(const std::string& reason) {
  replace_inner(nullptr);
  Outage outage;
  outage.after_frame = next_number_ - 1;
  outage.reason = reason;
  stats_.outages.push_back(outage);
  Outage& current = stats_.outages.back();
  if (last_frame_at_ == Clock::time_point{}) last_frame_at_ = Clock::now();
  const auto close_unrecovered = [&] {
    current.seconds = std::chrono::duration<double>(Clock::now() - last_frame_at_).count();
    current.frames_missing = info_.fps > 0 ? std::max<std::int64_t>(0, std::llround(current.seconds * info_.fps)) : 0;
    stats_.outage_s += current.seconds;
    stats_.frames_missing += current.frames_missing;
  };
  log("stream lost: " + reason);
  std::string last_failure = reason;
  while (policy_.may_attempt(current.attempts)) {
    const double delay = policy_.delay_before_attempt(current.attempts);
    const std::string limit = policy_.max_attempts < 0 ? "" : " of " + std::to_string(policy_.max_attempts);
    log("reconnecting in " + seconds_text(delay) + " (attempt " + std::to_string(current.attempts + 1) + limit + ")");
    if (!wait_backoff(delay)) break;
    ++current.attempts;
    try {
      std::unique_ptr<FrameSource> next = open_(stopping_);
      if (!next) throw std::runtime_error("the source could not be opened");
      replace_inner(std::move(next));
      if (stopping_) {  // stop() may have run while the new source was opening, before it was visible
        std::lock_guard lock(inner_mutex_);
        inner_->stop();
      }
      ++stats_.reconnects;
      gap_pending_ = true;
      return true;
    } catch (const std::exception& e) {
      ++stats_.failed_attempts;
      last_failure = e.what();
      if (stopping_) break;
      log("reconnect attempt " + std::to_string(current.attempts) + " failed: " + last_failure);
    }
  }
  close_unrecovered();
  if (stopping_) return false;
  stats_.gave_up = true;
  error_ = "gave up on " + info_.description + " after " + std::to_string(current.attempts) +
           " reconnect attempt(s) (--max-reconnects " + std::to_string(policy_.max_attempts) +
           "); last error: " + last_failure;
  log(error_);
  return false;
}

}  // namespace detstream::pipeline
