// CudaFrameDetector: the cuda backend's frame path (inference/runtime/frame_detector.h) for one
// CudaContext. Per detect(), on the context's stream: each host frame is staged in pinned memory
// (frames already pinned are used as they are, device frames go straight to the kernel), the GPU
// letterbox (letterbox.h) writes the graph input's fp32 NCHW staging in the activation arena, the
// layers run (the context's CUDA graph), the decode + confidence filter (detection_filter.h)
// reads the output staging, and only the per-image counts and candidates are copied back (the
// first kFirstCopy candidates of each image with the counts, the rest in a second copy when an
// image has more). Capacity is one candidate per anchor, so nothing is ever dropped.
// Only for graphs with one image input (B, 3, H, W) and a first output (B, 4 + nc, N); make()
// says why not otherwise. Buffers grow only when a larger frame arrives: a steady stream does
// not allocate. Used by the context's thread only. Internal to inference/cuda/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inference/cuda/cuda_engine.h"
#include "inference/cuda/device_memory.h"
#include "inference/cuda/letterbox.h"
#include "inference/runtime/frame_detector.h"

namespace detstream::inference::cuda {

class CudaFrameDetector final : public FrameDetector {
 public:
  static constexpr int kFirstCopy = 512;  // candidates per image copied back with the counts

  // nullptr (and why) when the context's graph does not have the shapes above.
  static std::unique_ptr<CudaFrameDetector> make(CudaContext& context, std::string* why_not);

  std::string_view preprocess_description() const override { return "gpu letterbox (cuda)"; }
  std::string_view postprocess_description() const override { return "gpu decode + confidence filter (cuda), NMS on the host"; }
  Status detect(std::span<const FrameInput> images, float conf_threshold) override;
  std::span<const FrameCandidate> candidates(std::size_t image) const override;

 private:
  CudaFrameDetector(CudaContext& context, int batch, int input_width, int input_height, int classes, int anchors);
  void enqueue_letterbox(std::size_t image, const FrameInput& input);

  CudaContext& context_;
  int batch_, input_width_, input_height_, classes_, anchors_;
  std::vector<PinnedBuffer> staging_;             // per image: the frame's packed rows
  std::vector<HostFrameLetterbox> letterboxes_;   // per image: the frame's device copy
  DeviceBuffer candidates_, counts_;              // batch x anchors candidates, batch counts
  PinnedBuffer host_candidates_, host_counts_;
  std::vector<FrameCandidate> results_;           // batch x anchors
  std::vector<std::size_t> result_counts_;
};

}  // namespace detstream::inference::cuda
