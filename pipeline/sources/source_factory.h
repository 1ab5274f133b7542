// Turns a --source string into a FrameSource:
//   path to a video file        filesrc ! decodebin ! videoconvert ! appsink  (any container/codec
//                               the machine's GStreamer decodes: mp4/H.264, mkv, webm/VP9, avi...)
//   image file or folder        ImageSource
//   /dev/videoN                 v4l2src (USB camera; live)
//   rtsp://... rtsps://...      rtspsrc latency=<ms> (live)
//   http://... https://...      souphttpsrc ! decodebin
//   csi://N                     nvarguscamerasrc sensor-id=N (Jetson CSI camera; live; needs
//                               NVIDIA's L4T GStreamer plugins, absent elsewhere)
//   gst:<pipeline>              a raw GStreamer pipeline that ends in an appsink
// Live sources get an appsink that keeps only the newest frame (max-buffers=1 drop=true), and
// are wrapped in a ReconnectingSource: a dropped stream or a vanished camera is reopened with
// capped exponential backoff (SourceOptions::reconnect). Files end at end of file, never reconnect.
#pragma once

#include <memory>
#include <string>

#include "pipeline/sources/frame_source.h"
#include "pipeline/sources/reconnecting_source.h"

namespace detstream::pipeline {

struct SourceOptions {
  int rtsp_latency_ms = 100;       // rtspsrc jitter buffer (frames later than this are dropped)
  double open_timeout_s = 10.0;    // first frame must arrive within this (also per reconnect attempt)
  double stall_timeout_s = 5.0;    // live: no frame for this long counts as a dropped stream
  ReconnectPolicy reconnect;       // live sources only
  int camera_width = 1280;         // CSI camera mode
  int camera_height = 720;
  int camera_fps = 30;
};

enum class SourceKind { kVideoFile, kImages, kUsbCamera, kRtsp, kHttp, kCsiCamera, kGstPipeline };

struct SourceSpec {
  SourceKind kind;
  std::string pipeline;  // the GStreamer description (empty for images)
  bool live = false;
  std::string description;
};

// Classifies `source` and builds its pipeline description; throws std::runtime_error naming the
// source when it does not exist or cannot be understood.
SourceSpec describe_source(const std::string& source, const SourceOptions& options);
// `log` receives the reconnecting source's outage messages (live sources only).
std::unique_ptr<FrameSource> open_source(const std::string& source, const SourceOptions& options,
                                         ReconnectingSource::Logger log = {});

}  // namespace detstream::pipeline
