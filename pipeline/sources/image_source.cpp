#include "pipeline/sources/image_source.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace detstream::pipeline {

bool is_image_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}) {
    if (ext == known) return true;
  }
  return false;
}

ImageSource::ImageSource(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file() && is_image_path(entry.path().string())) files_.push_back(entry.path().string());
    }
    std::sort(files_.begin(), files_.end());
    if (files_.empty()) throw std::runtime_error("folder '" + path + "' holds no images (.jpg, .png, .bmp, .tif, .webp)");
    info_.description = "image folder '" + path + "' (" + std::to_string(files_.size()) + " images)";
  } else {
    files_.push_back(path);
    info_.description = "image '" + path + "'";
  }
  const cv::Mat first = cv::imread(files_.front(), cv::IMREAD_COLOR);
  if (first.empty()) throw std::runtime_error("cannot decode image '" + files_.front() + "'");
  info_.width = first.cols;
  info_.height = first.rows;
  info_.frame_count = static_cast<std::int64_t>(files_.size());
}

ReadResult ImageSource::read(Frame& frame) {
  if (stopping_) return ReadResult::kStopped;
  if (next_ >= files_.size()) return ReadResult::kEndOfStream;
  const std::string& file = files_[next_];
  frame.image = cv::imread(file, cv::IMREAD_COLOR);
  if (frame.image.empty()) {
    error_ = "cannot decode image '" + file + "'";
    return ReadResult::kError;
  }
  frame.number = static_cast<std::int64_t>(next_++);
  frame.pts_ns = -1;
  return ReadResult::kFrame;
}

}  // namespace detstream::pipeline
