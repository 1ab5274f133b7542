// Letterboxer: a BGR frame (cv::Mat, 8-bit, 1/3/4 channels) -> the model's input tensor, exactly
// as Ultralytics prepares it: LetterBox(auto=False, scaleup=True, center=True) with INTER_LINEAR
// resize and grey (114) padding (geometry in postprocess/letterbox_geometry.h), then BGR -> RGB,
// / 255, planar NCHW float32, written into the caller's buffer.
// Ownership/threading: the Letterboxer keeps the resize scratch between calls, so a steady frame
// size costs no allocation; one Letterboxer per thread.
#pragma once

#include <opencv2/core.hpp>

#include <span>

#include "postprocess/letterbox_geometry.h"

namespace detstream::pipeline {

inline constexpr int kLetterboxPadValue = 114;

class Letterboxer {
 public:
  // The model input's width and height; throws inference::Error when not positive.
  Letterboxer(int target_width, int target_height);

  int target_width() const { return target_width_; }
  int target_height() const { return target_height_; }
  // Floats one image occupies in the output: 3 * H * W.
  std::size_t tensor_size() const;

  // Writes one image (3 x H x W) at the start of `dst`. Throws inference::Error for an empty or
  // non-8-bit image or a `dst` smaller than tensor_size().
  postprocess::LetterboxGeometry run(const cv::Mat& bgr, std::span<float> dst);

 private:
  const cv::Mat& as_bgr(const cv::Mat& image);
  void write_tensor(const cv::Mat& resized, const postprocess::LetterboxGeometry& g, float* dst) const;

  int target_width_;
  int target_height_;
  cv::Mat converted_;  // grey/BGRA inputs converted to BGR
  cv::Mat resized_;
};

}  // namespace detstream::pipeline
