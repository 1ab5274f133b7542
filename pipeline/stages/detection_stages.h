// DetectionStages: the work of the preprocess, inference and postprocess stages for one frame, on
// one of two paths chosen once per run (choose_frame_detector):
// - host path: the OpenCV letterbox writes the float input tensor (WorkItem::input),
//   ExecutionContext::execute fills WorkItem::output, the Decoder decodes all of it and runs NMS;
// - frame path, when the context has one (inference/runtime/frame_detector.h; the cuda backend):
//   preprocess only computes the letterbox geometry and passes the BGR frame on, inference hands
//   the frame to the FrameDetector (letterbox, model and confidence filter on the backend's
//   device) and keeps the candidates (WorkItem::candidates), postprocess sorts them, runs NMS and
//   scales the boxes back (Decoder::decode_candidates). Both give the same detections.
// Threading: preprocess(), infer() and postprocess() each run on their own stage thread and share
// nothing but the WorkItem passed between them. Steady state allocates nothing (WorkItems and
// their buffers are recycled). Each returns "" or the error message, as StageWork does.
#pragma once

#include <string>
#include <vector>

#include "inference/runtime/engine.h"
#include "pipeline/preprocess/letterbox.h"
#include "pipeline/stages/work_item.h"
#include "postprocess/decoder.h"

namespace detstream::pipeline {

// auto: the frame path when the context has one; host: always the host path.
enum class PrepostMode { kAuto, kHost };
// "auto" | "host"; throws std::runtime_error for anything else.
PrepostMode parse_prepost_mode(const std::string& text);

// The context's frame path when `mode` allows it and the context has one; else nullptr and, in
// `why_host`, the reason the host path runs.
inference::FrameDetector* choose_frame_detector(inference::ExecutionContext& context, PrepostMode mode, std::string* why_host);

class DetectionStages {
 public:
  // `frame_detector`: the frame path, or nullptr for the host path. `classes`: keep only these
  // class ids (empty: all). Throws for decode options the Decoder refuses.
  DetectionStages(inference::ExecutionContext& context, inference::FrameDetector* frame_detector,
                  const postprocess::YoloOutputLayout& layout, int input_width, int input_height,
                  const postprocess::DecodeOptions& decode, std::vector<int> classes);

  bool frame_path() const { return frame_ != nullptr; }
  // For reports and --help: where the letterbox and the decode ran.
  std::string preprocess_description() const;
  std::string postprocess_description() const;

  std::string preprocess(WorkItem& item);
  std::string infer(WorkItem& item);
  std::string postprocess(WorkItem& item);

 private:
  inference::ExecutionContext& context_;
  inference::FrameDetector* frame_;
  postprocess::YoloOutputLayout layout_;
  int input_width_, input_height_;
  std::vector<int> classes_;
  Letterboxer letterboxer_;
  postprocess::Decoder decoder_;
};

}  // namespace detstream::pipeline
