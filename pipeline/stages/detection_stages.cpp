#include "pipeline/stages/detection_stages.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>

#include "inference/core/error.h"

namespace detstream::pipeline {

PrepostMode parse_prepost_mode(const std::string& text) {
  if (text == "auto") return PrepostMode::kAuto;
  if (text == "host") return PrepostMode::kHost;
  throw std::runtime_error("pre/post-processing path must be auto or host, got '" + text + "'");
}

inference::FrameDetector* choose_frame_detector(inference::ExecutionContext& context, PrepostMode mode, std::string* why_host) {
  if (mode == PrepostMode::kHost) {
    if (why_host) *why_host = "host path requested";
    return nullptr;
  }
  return context.frame_detector(why_host);
}

DetectionStages::DetectionStages(inference::ExecutionContext& context, inference::FrameDetector* frame_detector,
                                 const postprocess::YoloOutputLayout& layout, int input_width, int input_height,
                                 const postprocess::DecodeOptions& decode, std::vector<int> classes)
    : context_(context),
      frame_(frame_detector),
      layout_(layout),
      input_width_(input_width),
      input_height_(input_height),
      classes_(std::move(classes)),
      letterboxer_(input_width, input_height),
      decoder_(layout, decode) {}

std::string DetectionStages::preprocess_description() const {
  return frame_ ? std::string(frame_->preprocess_description()) : "cpu letterbox (OpenCV)";
}

std::string DetectionStages::postprocess_description() const {
  return frame_ ? std::string(frame_->postprocess_description()) : "cpu decode + confidence filter + NMS";
}

std::string DetectionStages::preprocess(WorkItem& item) {
  if (!frame_) {
    item.input.resize(letterboxer_.tensor_size());
    item.geometry = letterboxer_.run(item.frame.image, item.input);
    return "";
  }
  cv::Mat& image = item.frame.image;
  if (image.empty()) return "empty frame";
  if (image.depth() != CV_8U) return "expected an 8-bit frame, got OpenCV depth " + std::to_string(image.depth());
  // Sources deliver BGR; other channel counts are converted here (a new buffer: not the steady state).
  if (image.channels() == 1) cv::cvtColor(image, image, cv::COLOR_GRAY2BGR);
  if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
  if (image.channels() != 3) return "expected 1, 3 or 4 channels, got " + std::to_string(image.channels());
  item.geometry = postprocess::compute_letterbox_geometry(image.cols, image.rows, input_width_, input_height_);
  return "";
}

std::string DetectionStages::infer(WorkItem& item) {
  if (!frame_) {
    const auto& in = context_.engine().inputs()[0];
    const auto& out = context_.engine().outputs()[0];
    item.output.resize(static_cast<std::size_t>(inference::element_count(out.shape)));
    const inference::ConstTensorView input{in.dtype, in.shape, item.input.data()};
    const inference::TensorView output{out.dtype, out.shape, item.output.data()};
    const inference::Status status = context_.execute({&input, 1}, {&output, 1});
    return status ? "" : status.message();
  }
  const cv::Mat& image = item.frame.image;
  const postprocess::LetterboxGeometry& g = item.geometry;
  const inference::FrameInput input{{image.data, image.cols, image.rows, image.step[0]},
                                    {g.resized_width, g.resized_height, g.pad_left, g.pad_top}};
  const inference::Status status = frame_->detect({&input, 1}, decoder_.options().conf_threshold);
  if (!status) return status.message();
  const std::span<const inference::FrameCandidate> found = frame_->candidates(0);
  item.candidates.reserve(static_cast<std::size_t>(layout_.num_anchors));  // once per recycled item
  item.candidates.clear();
  for (const inference::FrameCandidate& c : found) {
    item.candidates.push_back({{c.x1, c.y1, c.x2, c.y2}, c.score, c.class_id, c.anchor});
  }
  return "";
}

std::string DetectionStages::postprocess(WorkItem& item) {
  const auto found = frame_ ? decoder_.decode_candidates(item.candidates, item.geometry)
                            : decoder_.decode(item.output.data(), item.geometry);
  item.detections.clear();
  for (const auto& d : found) {
    if (classes_.empty() || std::find(classes_.begin(), classes_.end(), d.class_id) != classes_.end()) {
      item.detections.push_back(d);
    }
  }
  return "";
}

}  // namespace detstream::pipeline
