// FrameDetector: an ExecutionContext's optional frame path. Raw BGR frames in, detection
// candidates out: the backend letterboxes each frame itself (Ultralytics LetterBox: bilinear
// resize, pad 114, BGR -> RGB, / 255, into its own input buffer: no host float tensor), runs the
// model, then decodes its YOLO head output (B, 4 + nc, N) and keeps the anchors whose best class
// score is strictly above the threshold (the lowest class id wins ties), so that only those
// candidates come back. Where the resized frame lands is the caller's
// (postprocess::compute_letterbox_geometry), so every path shares one geometry; sorting, NMS,
// scaling back to the frame and class filters stay with the caller (postprocess/).
// Backends without a frame path (cpu, ref) return nullptr from ExecutionContext::frame_detector()
// and say why; the caller then letterboxes, runs execute() and decodes on the host.
// Ownership/threading: owned by its context, valid as long as the context, used from the thread
// that uses the context; candidates() is valid until the next detect(). A steady stream of frames
// of one size allocates nothing. No backend types here: CUDA stays in inference/cuda/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "inference/core/status.h"

namespace detstream::inference {

struct BgrFrame {
  const std::uint8_t* data = nullptr;  // host memory (pinned or pageable) or, where the backend's device can read it, device memory
  int width = 0, height = 0;
  std::size_t row_bytes = 0;  // >= 3 * width
};

// Where the resized frame is placed inside the model's input (LetterboxGeometry's fields).
struct FramePlacement {
  int resized_width = 0, resized_height = 0;
  int pad_left = 0, pad_top = 0;
};

struct FrameInput {
  BgrFrame frame;
  FramePlacement placement;
};

// One anchor that passed the confidence filter; the box is x1, y1, x2, y2 in model-input pixels.
struct FrameCandidate {
  float x1 = 0.0f, y1 = 0.0f, x2 = 0.0f, y2 = 0.0f;
  float score = 0.0f;
  int class_id = 0;
  int anchor = 0;  // where it came from: the NMS tie-break (equal scores: lower anchor first)
};

class FrameDetector {
 public:
  virtual ~FrameDetector() = default;
  // For reports: where the letterbox and the decode + filter ran, e.g. "gpu letterbox".
  virtual std::string_view preprocess_description() const = 0;
  virtual std::string_view postprocess_description() const = 0;
  // One input per image of the engine's batch. Errors (sizes that do not fit the input, device
  // failures) come back as a Status naming the problem.
  virtual Status detect(std::span<const FrameInput> images, float conf_threshold) = 0;
  // Image `image`'s candidates from the last detect(), in no particular order: every anchor above
  // the threshold (none are dropped for lack of room).
  virtual std::span<const FrameCandidate> candidates(std::size_t image) const = 0;
};

}  // namespace detstream::inference
