// ReconnectPolicy and ConnectionStats: how a live source (RTSP stream, camera) comes back after it
// drops, and what the outages cost. Plain data.
//
// Backoff is capped exponential: the wait before attempt k (0-based) of one outage is
// min(max_backoff_s, initial_backoff_s * 2^k). `max_attempts` bounds the attempts of ONE outage
// (the count starts again once frames flow), so a camera that flaps now and then runs forever
// while a stream that stays down ends the run. -1: never give up; 0: never reconnect.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace detstream::pipeline {

struct ReconnectPolicy {
  int max_attempts = -1;
  double initial_backoff_s = 0.5;
  double max_backoff_s = 8.0;

  double delay_before_attempt(int attempt) const {
    const double grown = initial_backoff_s * std::pow(2.0, std::min(attempt, 60));
    return std::max(0.0, std::min(max_backoff_s, grown));
  }
  bool may_attempt(int attempts_so_far) const { return max_attempts < 0 || attempts_so_far < max_attempts; }
};

// One interruption of a live source: from the last frame before it to the first frame after.
struct Outage {
  std::int64_t after_frame = -1;    // number of the last frame delivered before it (-1: none)
  double seconds = 0.0;             // wall-clock gap between those two frames
  std::int64_t frames_missing = 0;  // frames the source's nominal rate would have produced meanwhile
  int attempts = 0;                 // reconnect attempts it took (failed ones included)
  std::string reason;               // why the stream was considered lost
  bool recovered = false;           // false for the last outage of a source that was given up
};

struct ConnectionStats {
  bool reconnecting = false;  // the source reconnects (live); files do not
  int reconnects = 0;         // successful reconnections
  int failed_attempts = 0;
  double outage_s = 0.0;            // total of Outage::seconds
  std::int64_t frames_missing = 0;  // total of Outage::frames_missing (never filled in: missing is missing)
  bool gave_up = false;             // max_attempts were used up: the run ended because the source was lost
  std::vector<Outage> outages;
};

}  // namespace detstream::pipeline
