// FrameSource: where frames come from (video file, image folder, camera, RTSP, raw GStreamer
// pipeline). One thread calls read() repeatedly; stop() may be called from any thread and makes
// a blocked read() return promptly. Construction opens the source and throws std::runtime_error
// naming the source and the reason when it cannot.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/core/frame.h"
#include "pipeline/sources/reconnect_policy.h"

namespace detstream::pipeline {

struct SourceInfo {
  std::string description;       // human-readable: what was opened, and how
  int width = 0;
  int height = 0;
  double fps = 0.0;              // 0 when unknown
  std::int64_t frame_count = -1; // -1 when unknown (live sources, streams)
  bool live = false;             // cameras and network streams: frames keep coming, drop when late
};

enum class ReadResult { kFrame, kEndOfStream, kStopped, kError };

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual const SourceInfo& info() const = 0;
  // Fills `frame.image`, `pts_ns` and `number`. kError leaves a message in last_error().
  virtual ReadResult read(Frame& frame) = 0;
  virtual void stop() = 0;
  virtual std::string last_error() const = 0;
  // Reconnects and outages of a source that reconnects (live); nullptr for the others. Read it
  // from the reading thread, or after that thread has ended.
  virtual const ConnectionStats* connection() const { return nullptr; }
  // Frames the source produced that never reached read() (a live appsink keeps only the newest
  // frame): estimated from timestamp gaps at the nominal frame rate. Same threading as connection().
  virtual std::uint64_t frames_skipped() const { return 0; }
};

}  // namespace detstream::pipeline
