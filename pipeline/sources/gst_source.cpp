#include "pipeline/sources/gst_source.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace detstream::pipeline {

namespace {
constexpr GstClockTime kPollInterval = 100 * GST_MSECOND;

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

GstElement* find_appsink(GstElement* pipeline) {
  if (GstElement* named = gst_bin_get_by_name(GST_BIN(pipeline), "sink")) return named;
  GstIterator* it = gst_bin_iterate_sinks(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  GstElement* found = nullptr;
  while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* element = GST_ELEMENT(g_value_get_object(&item));
    if (GST_IS_APP_SINK(element)) found = GST_ELEMENT(gst_object_ref(element));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return found;
}
}  // namespace

void ensure_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

GstSource::GstSource(const std::string& pipeline, SourceInfo hints, GstSourceTimeouts timeouts)
    : info_(std::move(hints)), timeouts_(timeouts) {
  ensure_gstreamer();
  GError* error = nullptr;
  pipeline_ = gst_parse_launch(pipeline.c_str(), &error);
  if (error) {
    const std::string message = error->message;
    g_error_free(error);
    if (pipeline_) gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    throw std::runtime_error("cannot build the GStreamer pipeline for " + info_.description + ": " + message +
                             " (pipeline: " + pipeline + ")");
  }
  sink_ = find_appsink(pipeline_);
  if (!sink_) {
    shutdown();
    throw std::runtime_error("the GStreamer pipeline for " + info_.description + " has no appsink: " + pipeline);
  }
  try {
    start();
  } catch (...) {
    shutdown();
    throw;
  }
}

GstSource::~GstSource() { shutdown(); }

void GstSource::shutdown() {
  if (pending_) gst_sample_unref(pending_);
  pending_ = nullptr;
  if (pipeline_) gst_element_set_state(pipeline_, GST_STATE_NULL);
  if (sink_) gst_object_unref(sink_);
  if (pipeline_) gst_object_unref(pipeline_);
  sink_ = nullptr;
  pipeline_ = nullptr;
}

std::string GstSource::pop_bus_error() {
  GstBus* bus = gst_element_get_bus(pipeline_);
  std::string text;
  while (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    if (text.empty()) {
      text = std::string(GST_OBJECT_NAME(msg->src)) + ": " + (err ? err->message : "unknown error");
      if (debug) text += std::string(" (") + debug + ")";
    }
    if (err) g_error_free(err);
    g_free(debug);
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  return text;
}

void GstSource::start() {
  const double open_timeout_s = timeouts_.open_s;
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    const std::string why = pop_bus_error();
    throw std::runtime_error("cannot start " + info_.description + (why.empty() ? "" : ": " + why));
  }
  auto* sink = GST_APP_SINK(sink_);
  const auto deadline = static_cast<gint64>(open_timeout_s * 1e6) + g_get_monotonic_time();
  while (!pending_) {
    pending_ = gst_app_sink_try_pull_sample(sink, kPollInterval);
    if (pending_) break;
    if (timeouts_.cancel && timeouts_.cancel->load()) throw std::runtime_error("opening " + info_.description + " was cancelled");
    if (const std::string why = pop_bus_error(); !why.empty()) {
      throw std::runtime_error("cannot read " + info_.description + ": " + why);
    }
    if (gst_app_sink_is_eos(sink)) throw std::runtime_error(info_.description + " has no video frames");
    if (g_get_monotonic_time() > deadline) {
      throw std::runtime_error("no frame from " + info_.description + " within " + seconds_text(open_timeout_s));
    }
  }
  GstVideoInfo video;
  if (!gst_video_info_from_caps(&video, gst_sample_get_caps(pending_))) {
    throw std::runtime_error(info_.description + ": the stream's caps are not raw video");
  }
  info_.width = GST_VIDEO_INFO_WIDTH(&video);
  info_.height = GST_VIDEO_INFO_HEIGHT(&video);
  if (GST_VIDEO_INFO_FPS_D(&video) > 0 && GST_VIDEO_INFO_FPS_N(&video) > 0) {
    info_.fps = static_cast<double>(GST_VIDEO_INFO_FPS_N(&video)) / GST_VIDEO_INFO_FPS_D(&video);
  }
  gint64 duration = -1;
  if (!info_.live && info_.fps > 0 && gst_element_query_duration(pipeline_, GST_FORMAT_TIME, &duration) && duration > 0) {
    info_.frame_count = static_cast<std::int64_t>(static_cast<double>(duration) / 1e9 * info_.fps + 0.5);
  }
}

bool GstSource::fill(GstSample* sample, Frame& frame) {
  GstVideoInfo video;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (!buffer || !gst_video_info_from_caps(&video, gst_sample_get_caps(sample))) return false;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return false;
  const int width = GST_VIDEO_INFO_WIDTH(&video), height = GST_VIDEO_INFO_HEIGHT(&video);
  const auto stride = static_cast<std::size_t>(GST_VIDEO_INFO_PLANE_STRIDE(&video, 0));
  frame.image.create(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    std::memcpy(frame.image.ptr(y), map.data + y * stride, static_cast<std::size_t>(width) * 3);
  }
  gst_buffer_unmap(buffer, &map);
  frame.pts_ns = GST_BUFFER_PTS_IS_VALID(buffer) ? static_cast<std::int64_t>(GST_BUFFER_PTS(buffer)) : -1;
  // Live: the appsink keeps only the newest frame, so a slow pipeline loses frames here. Count them
  // from the gap to the previous timestamp (a gap of k frame periods means k - 1 never arrived).
  if (info_.live && info_.fps > 0 && frame.pts_ns >= 0 && previous_pts_ns_ >= 0 && frame.pts_ns > previous_pts_ns_) {
    const double periods = static_cast<double>(frame.pts_ns - previous_pts_ns_) * info_.fps / 1e9;
    const auto missed = static_cast<std::int64_t>(periods + 0.5) - 1;
    if (missed > 0) {
      skipped_ += static_cast<std::uint64_t>(missed);
      frame.after_gap = true;
    }
  }
  if (frame.pts_ns >= 0) previous_pts_ns_ = frame.pts_ns;
  frame.number = next_number_++;
  return true;
}

ReadResult GstSource::read(Frame& frame) {
  auto* sink = GST_APP_SINK(sink_);
  const gint64 stall_limit_us = static_cast<gint64>(timeouts_.stall_s * 1e6);
  const gint64 waiting_since = g_get_monotonic_time();
  while (true) {
    if (stopping_) return ReadResult::kStopped;
    GstSample* sample = pending_ ? pending_ : gst_app_sink_try_pull_sample(sink, kPollInterval);
    pending_ = nullptr;
    if (sample) {
      const bool ok = fill(sample, frame);
      gst_sample_unref(sample);
      if (!ok) {
        error_ = info_.description + ": a frame could not be mapped as BGR video";
        return ReadResult::kError;
      }
      return ReadResult::kFrame;
    }
    if (const std::string why = pop_bus_error(); !why.empty()) {
      error_ = info_.description + ": " + why;
      return ReadResult::kError;
    }
    if (gst_app_sink_is_eos(sink)) return ReadResult::kEndOfStream;
    if (stall_limit_us > 0 && g_get_monotonic_time() - waiting_since > stall_limit_us) {
      error_ = info_.description + ": no frame for " + seconds_text(timeouts_.stall_s) + " (stream stalled)";
      return ReadResult::kError;
    }
  }
}

}  // namespace detstream::pipeline
