#include "pipeline/render/overlay.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>

#include "inference/core/error.h"
#include "postprocess/detection_json.h"

namespace detstream::pipeline {

namespace {

// Ultralytics' default palette (RGB hex), so that our images look like theirs.
constexpr std::array<std::uint32_t, 20> kPalette = {
    0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231, 0x48F90A, 0x92CC17, 0x3DDB86, 0x1A9334, 0x00D4BB,
    0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF, 0x0018EC, 0x8438FF, 0x520085, 0xCB38FF, 0xFF95C8, 0xFF37C7};

int auto_line_width(const cv::Mat& image) {
  return std::max(static_cast<int>(std::lround((image.rows + image.cols) / 2.0 * 0.003)), 2);
}

// Dark text on light boxes, white on dark ones (perceived luminance).
cv::Scalar text_color_for(const cv::Scalar& bgr) {
  const double luminance = 0.299 * bgr[2] + 0.587 * bgr[1] + 0.114 * bgr[0];
  return luminance > 160.0 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
}

void draw_label(cv::Mat& image, const std::string& text, cv::Point corner, const cv::Scalar& color, int line_width) {
  const double font_scale = line_width / 3.0;
  const int font_thickness = std::max(line_width - 1, 1);
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, font_thickness, &baseline);
  const int height = size.height + 3;
  const bool above = corner.y >= height;  // room above the box?
  // Shifted left when it would run off the right edge (boxes touching the border are common).
  corner.x = std::max(0, std::min(corner.x, image.cols - size.width));
  const cv::Point top_left(corner.x, above ? corner.y - height : corner.y);
  const cv::Point bottom_right(corner.x + size.width, above ? corner.y : corner.y + height);
  cv::rectangle(image, top_left, bottom_right, color, cv::FILLED, cv::LINE_AA);
  cv::putText(image, text, cv::Point(corner.x, bottom_right.y - 2), cv::FONT_HERSHEY_SIMPLEX, font_scale,
              text_color_for(color), font_thickness, cv::LINE_AA);
}

}  // namespace

cv::Scalar class_color(int class_id) {
  const std::size_t index = static_cast<std::size_t>(class_id < 0 ? -class_id : class_id) % kPalette.size();
  const std::uint32_t rgb = kPalette[index];
  return cv::Scalar(rgb & 0xFF, (rgb >> 8) & 0xFF, (rgb >> 16) & 0xFF);
}

void draw_detections(cv::Mat& image, std::span<const postprocess::Detection> detections,
                     const postprocess::ClassNames& names, const OverlayStyle& style) {
  if (image.empty() || image.type() != CV_8UC3) throw inference::Error("overlay: expected a non-empty 8-bit BGR image");
  const int line_width = style.line_width > 0 ? style.line_width : auto_line_width(image);
  // Least confident first, so that the most confident labels end up on top where they overlap.
  for (auto it = detections.rbegin(); it != detections.rend(); ++it) {
    const postprocess::Detection& d = *it;
    const cv::Scalar color = class_color(d.class_id);
    const cv::Point p1(static_cast<int>(d.box.x1), static_cast<int>(d.box.y1));
    const cv::Point p2(static_cast<int>(d.box.x2), static_cast<int>(d.box.y2));
    cv::rectangle(image, p1, p2, color, line_width, cv::LINE_AA);
    if (!style.show_labels) continue;
    std::string label = postprocess::class_name_of(d.class_id, names);
    if (style.show_confidence) {
      char confidence[16];
      std::snprintf(confidence, sizeof(confidence), " %.2f", static_cast<double>(d.confidence));
      label += confidence;
    }
    draw_label(image, label, p1, color, line_width);
  }
}

}  // namespace detstream::pipeline
