#include "pipeline/preprocess/letterbox.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "inference/core/error.h"

namespace detstream::pipeline {

namespace {

// x / 255 for every byte, computed once. PyTorch's `tensor / 255` multiplies by the float32
// reciprocal, which differs from a true division by one ulp for half the bytes; the golden
// tensors were made that way, so this does the same (bit-exact, see the letterbox tests).
const std::array<float, 256>& unit_scale_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<float>(i) * (1.0f / 255.0f);
    return t;
  }();
  return table;
}

}  // namespace

Letterboxer::Letterboxer(int target_width, int target_height)
    : target_width_(target_width), target_height_(target_height) {
  if (target_width <= 0 || target_height <= 0) {
    throw inference::Error("letterbox: target size must be positive, got " + std::to_string(target_width) + "x" +
                           std::to_string(target_height));
  }
}

std::size_t Letterboxer::tensor_size() const {
  return 3u * static_cast<std::size_t>(target_width_) * static_cast<std::size_t>(target_height_);
}

const cv::Mat& Letterboxer::as_bgr(const cv::Mat& image) {
  if (image.empty()) throw inference::Error("letterbox: empty image");
  if (image.depth() != CV_8U) throw inference::Error("letterbox: expected an 8-bit image, got OpenCV depth " +
                                                     std::to_string(image.depth()));
  switch (image.channels()) {
    case 3: return image;
    case 1: cv::cvtColor(image, converted_, cv::COLOR_GRAY2BGR); return converted_;
    case 4: cv::cvtColor(image, converted_, cv::COLOR_BGRA2BGR); return converted_;
    default:
      throw inference::Error("letterbox: expected 1, 3 or 4 channels, got " + std::to_string(image.channels()));
  }
}

postprocess::LetterboxGeometry Letterboxer::run(const cv::Mat& image, std::span<float> dst) {
  if (dst.size() < tensor_size()) {
    throw inference::Error("letterbox: output buffer holds " + std::to_string(dst.size()) + " floats, needs " +
                           std::to_string(tensor_size()));
  }
  const cv::Mat& bgr = as_bgr(image);
  const auto g = postprocess::compute_letterbox_geometry(bgr.cols, bgr.rows, target_width_, target_height_);
  const bool same_size = g.resized_width == bgr.cols && g.resized_height == bgr.rows;
  if (!same_size) {
    // cv::resize reuses resized_'s buffer when the size repeats (the steady state of a stream).
    cv::resize(bgr, resized_, cv::Size(g.resized_width, g.resized_height), 0, 0, cv::INTER_LINEAR);
  }
  write_tensor(same_size ? bgr : resized_, g, dst.data());
  return g;
}

// Pads and converts in one pass instead of copyMakeBorder + split: same values, no temporaries.
void Letterboxer::write_tensor(const cv::Mat& resized, const postprocess::LetterboxGeometry& g, float* dst) const {
  const auto& lut = unit_scale_table();
  const float pad = lut[kLetterboxPadValue];
  const std::size_t plane = static_cast<std::size_t>(target_width_) * static_cast<std::size_t>(target_height_);
  float* r_plane = dst;
  float* g_plane = dst + plane;
  float* b_plane = dst + 2 * plane;
  for (int y = 0; y < target_height_; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * static_cast<std::size_t>(target_width_);
    float* r = r_plane + row;
    float* gr = g_plane + row;
    float* b = b_plane + row;
    const int src_y = y - g.pad_top;
    if (src_y < 0 || src_y >= resized.rows) {
      std::fill_n(r, target_width_, pad);
      std::fill_n(gr, target_width_, pad);
      std::fill_n(b, target_width_, pad);
      continue;
    }
    const int left = g.pad_left;
    const int right_start = std::min(target_width_, left + resized.cols);
    std::fill_n(r, left, pad);
    std::fill_n(gr, left, pad);
    std::fill_n(b, left, pad);
    const unsigned char* src = resized.ptr<unsigned char>(src_y);
    for (int x = left; x < right_start; ++x, src += 3) {
      b[x] = lut[src[0]];
      gr[x] = lut[src[1]];
      r[x] = lut[src[2]];
    }
    std::fill(r + right_start, r + target_width_, pad);
    std::fill(gr + right_start, gr + target_width_, pad);
    std::fill(b + right_start, b + target_width_, pad);
  }
}

}  // namespace detstream::pipeline
