// Frame: one captured image travelling through the pipeline, with where and when it came from.
// Owned by value (cv::Mat shares pixels by reference count; stages never write into a frame they
// did not create, so sharing is safe across threads).
#pragma once

#include <opencv2/core.hpp>

#include <chrono>
#include <cstdint>

namespace detstream::pipeline {

using Clock = std::chrono::steady_clock;

struct Frame {
  int source_index = 0;
  std::int64_t number = 0;          // 0-based, in capture order, counting only delivered frames
  std::int64_t pts_ns = -1;         // the stream's presentation timestamp; -1 when unknown
  Clock::time_point captured{};     // wall clock when capture handed the frame over
  cv::Mat image;                    // BGR, 8-bit
  bool after_gap = false;           // frames were lost just before this one (drop or outage)
};

}  // namespace detstream::pipeline
