// GstSource: frames from a GStreamer pipeline that ends in an appsink.
//
// Why GStreamer's appsink API directly (not cv::VideoCapture) for videos, cameras and streams:
// it gives the stream's own timestamps, a real end-of-stream, and the pipeline's error messages
// on the bus (a missing plugin, a 404, a vanished camera), which VideoCapture reduces to an
// empty frame. The description is built by source_factory.h or given raw by the user.
// Thread-safety: read() from one thread; stop() from any.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "pipeline/sources/frame_source.h"

typedef struct _GstElement GstElement;
typedef struct _GstSample GstSample;

namespace detstream::pipeline {

struct GstSourceTimeouts {
  double open_s = 10.0;   // the first frame must arrive within this
  double stall_s = 0.0;   // live sources: no frame for this long is an error (a dead stream that
                          // sends nothing, not even an error); 0 = wait forever
  const std::atomic<bool>* cancel = nullptr;  // when it turns true, opening gives up at once
};

class GstSource final : public FrameSource {
 public:
  // `pipeline` must contain an appsink (named "sink" if there are several). Starts it and waits
  // up to `timeouts.open_s` for the first frame; throws std::runtime_error with GStreamer's
  // message when it fails.
  GstSource(const std::string& pipeline, SourceInfo hints, GstSourceTimeouts timeouts);
  ~GstSource() override;

  const SourceInfo& info() const override { return info_; }
  ReadResult read(Frame& frame) override;
  void stop() override { stopping_ = true; }
  std::string last_error() const override { return error_; }
  std::uint64_t frames_skipped() const override { return skipped_; }

 private:
  void start();
  bool fill(GstSample* sample, Frame& frame);
  std::string pop_bus_error();
  void shutdown();

  SourceInfo info_;
  GstSourceTimeouts timeouts_;
  GstElement* pipeline_ = nullptr;
  GstElement* sink_ = nullptr;
  GstSample* pending_ = nullptr;  // first sample, pulled while opening
  std::atomic<bool> stopping_{false};
  std::int64_t next_number_ = 0;
  std::int64_t previous_pts_ns_ = -1;
  std::uint64_t skipped_ = 0;  // live only: frames the appsink dropped, from pts gaps
  std::string error_;
};

// Initialises GStreamer once per process (thread-safe).
void ensure_gstreamer();

}  // namespace detstream::pipeline
