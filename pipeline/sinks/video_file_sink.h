// VideoFileSink: writes annotated frames to an H.264 .mp4 (GStreamer appsrc ! x264enc ! mp4mux),
// or through OpenCV's VideoWriter when the machine lacks x264enc/mp4mux.
//
// Nothing half-written is left looking valid: frames go to "<output>.partial" beside the output,
// finish() sends end-of-stream, waits for mp4mux to write its index, then renames into place.
// Destroying an unfinished sink deletes the partial file. One thread calls write()/finish().
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>

typedef struct _GstElement GstElement;

namespace detstream::pipeline {

class VideoFileSink {
 public:
  // Throws std::runtime_error when the output's folder is missing or not writable.
  VideoFileSink(std::string path, int width, int height, double fps);
  ~VideoFileSink();
  VideoFileSink(const VideoFileSink&) = delete;
  VideoFileSink& operator=(const VideoFileSink&) = delete;

  // `frame` must be BGR of the size given at construction. Returns false with last_error() set.
  bool write(const cv::Mat& frame);
  // Finalises the container and renames it into place. Returns false with last_error() set.
  bool finish();

  std::int64_t frames_written() const { return frames_; }
  const std::string& last_error() const { return error_; }
  const std::string& path() const { return path_; }
  std::string encoder() const;

 private:
  bool open_gstreamer();
  std::string bus_error();
  // Waits until the encoder's input queue has room; false (last_error set) when the pipeline failed.
  bool wait_for_room();
  std::uint64_t max_queued_bytes() const { return 4ull * static_cast<std::uint64_t>(width_) * height_ * 3; }

  std::string path_;
  std::string partial_;
  int width_, height_;
  double fps_;
  GstElement* pipeline_ = nullptr;
  GstElement* appsrc_ = nullptr;
  std::unique_ptr<class CvVideoWriterHolder> cv_writer_;
  std::int64_t frames_ = 0;
  bool finished_ = false;
  std::string error_;
};

// Throws std::runtime_error naming `path` when a file cannot be created there (checked before a
// long run starts, so a typo in --output fails at once).
void check_writable(const std::string& path);

}  // namespace detstream::pipeline
