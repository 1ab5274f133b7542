// ImageSource: one image file, or every image in a folder (sorted by name), read with OpenCV's
// imread — the simplest decoder for stills, and the one the letterbox golden data was made with.
// An unreadable image is an error naming the file (nothing is skipped silently).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "pipeline/sources/frame_source.h"

namespace detstream::pipeline {

class ImageSource final : public FrameSource {
 public:
  // Throws std::runtime_error when the path holds no readable image.
  explicit ImageSource(const std::string& path);

  const SourceInfo& info() const override { return info_; }
  ReadResult read(Frame& frame) override;
  void stop() override { stopping_ = true; }
  std::string last_error() const override { return error_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  SourceInfo info_;
  std::vector<std::string> files_;
  std::size_t next_ = 0;
  std::atomic<bool> stopping_{false};
  std::string error_;
};

bool is_image_path(const std::string& path);

}  // namespace detstream::pipeline
