#include "inference/cuda/frame_detector.h"

#include <algorithm>
#include <cstring>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/detection_filter.h"

namespace detstream::inference::cuda {

namespace {

std::string shape_text(const Shape& shape) { return to_string(shape); }

// Where a frame's bytes live, as the CUDA runtime sees the pointer.
enum class FrameMemory { kPageable, kPinned, kDevice };

FrameMemory classify(const void* pointer) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, pointer) != cudaSuccess) {
    (void)cudaGetLastError();  // older runtimes report plain host memory as an error
    return FrameMemory::kPageable;
  }
  switch (attributes.type) {
    case cudaMemoryTypeHost: return FrameMemory::kPinned;
    case cudaMemoryTypeDevice:
    case cudaMemoryTypeManaged: return FrameMemory::kDevice;
    default: return FrameMemory::kPageable;
  }
}

}  // namespace

FrameDetector* CudaContext::frame_detector(std::string* why_not) {
  if (!frame_detector_tried_) {
    frame_detector_tried_ = true;
    frame_detector_ = CudaFrameDetector::make(*this, &frame_detector_why_not_);
  }
  if (!frame_detector_ && why_not) *why_not = frame_detector_why_not_;
  return frame_detector_.get();
}

std::unique_ptr<CudaFrameDetector> CudaFrameDetector::make(CudaContext& context, std::string* why_not) {
  const LoweredGraph& lowered = context.engine_.lowered();
  auto refuse = [&](const std::string& why) {
    if (why_not) *why_not = "the cuda frame path needs " + why;
    return nullptr;
  };
  if (lowered.input_staging.size() != 1) return refuse("one image input, the model has " + std::to_string(lowered.input_staging.size()));
  if (lowered.output_staging.empty()) return refuse("an output");
  const TensorRef& in = lowered.input_staging[0];
  const TensorRef& out = lowered.output_staging[0];
  if (in.shape.size() != 4 || in.shape[1] != 3 || in.dtype != DataType::kFloat32 || !is_packed_row_major(in)) {
    return refuse("an fp32 image input (B, 3, H, W), the model's is " + shape_text(in.shape));
  }
  if (out.shape.size() != 3 || out.shape[0] != in.shape[0] || out.shape[1] < 5 || out.dtype != DataType::kFloat32 ||
      !is_packed_row_major(out)) {
    return refuse("a YOLO detection output (B, 4 + classes, anchors), the model's is " + shape_text(out.shape));
  }
  return std::unique_ptr<CudaFrameDetector>(new CudaFrameDetector(context, static_cast<int>(in.shape[0]), static_cast<int>(in.shape[3]),
                                                                   static_cast<int>(in.shape[2]), static_cast<int>(out.shape[1] - 4),
                                                                   static_cast<int>(out.shape[2])));
}

CudaFrameDetector::CudaFrameDetector(CudaContext& context, int batch, int input_width, int input_height, int classes, int anchors)
    : context_(context),
      batch_(batch),
      input_width_(input_width),
      input_height_(input_height),
      classes_(classes),
      anchors_(anchors),
      staging_(static_cast<std::size_t>(batch)),
      letterboxes_(static_cast<std::size_t>(batch)) {
  DETSTREAM_CUDA_CHECK(cudaSetDevice(context.engine_.device()));
  const std::size_t slots = static_cast<std::size_t>(batch) * static_cast<std::size_t>(anchors);
  candidates_ = DeviceBuffer(slots * sizeof(DetectionCandidate));
  counts_ = DeviceBuffer(static_cast<std::size_t>(batch) * sizeof(unsigned));
  host_candidates_ = PinnedBuffer(slots * sizeof(DetectionCandidate));
  host_counts_ = PinnedBuffer(static_cast<std::size_t>(batch) * sizeof(unsigned));
  results_.resize(slots);
  result_counts_.assign(static_cast<std::size_t>(batch), 0);
}

void CudaFrameDetector::enqueue_letterbox(std::size_t image, const FrameInput& input) {
  const BgrFrame& f = input.frame;
  if (!f.data || f.width <= 0 || f.height <= 0 || f.row_bytes < 3u * static_cast<std::size_t>(f.width)) {
    throw Error("frame " + std::to_string(image) + " is empty or its rows are shorter than 3 x width bytes");
  }
  const std::size_t plane = static_cast<std::size_t>(input_width_) * static_cast<std::size_t>(input_height_);
  LetterboxTarget target;
  target.data = static_cast<float*>(context_.staging_address(0, true)) + image * 3 * plane;
  target.width = input_width_;
  target.height = input_height_;
  target.layout = ImageLayout::kNchw;
  target.fp16 = false;
  const LetterboxPlacement placement{input.placement.resized_width, input.placement.resized_height, input.placement.pad_left,
                                     input.placement.pad_top};
  const std::size_t packed_row = 3u * static_cast<std::size_t>(f.width);
  const FrameMemory memory = classify(f.data);
  if (memory == FrameMemory::kDevice) {
    launch_letterbox({f.data, f.width, f.height, f.row_bytes}, placement, target, context_.stream_);
    return;
  }
  const std::uint8_t* host = f.data;
  if (memory == FrameMemory::kPageable || f.row_bytes != packed_row) {
    // Pageable memory would make the copy synchronous (and staged by the driver anyway): copy the
    // rows into pinned memory of our own, which also drops any row padding.
    const std::size_t bytes = packed_row * static_cast<std::size_t>(f.height);
    PinnedBuffer& staging = staging_[image];
    if (staging.size() < bytes) staging = PinnedBuffer(bytes);  // the stream is idle between detect() calls
    auto* to = static_cast<std::uint8_t*>(staging.get());
    if (f.row_bytes == packed_row) {
      std::memcpy(to, f.data, bytes);
    } else {
      for (int y = 0; y < f.height; ++y) std::memcpy(to + packed_row * static_cast<std::size_t>(y), f.data + f.row_bytes * static_cast<std::size_t>(y), packed_row);
    }
    host = to;
  }
  letterboxes_[image].run({host, f.width, f.height, packed_row}, placement, target, context_.stream_);
}

Status CudaFrameDetector::detect(std::span<const FrameInput> images, float conf_threshold) {
  try {
    if (images.size() != static_cast<std::size_t>(batch_)) {
      return Status::error("cuda frame path: the engine takes " + std::to_string(batch_) + " frames at a time, got " +
                           std::to_string(images.size()));
    }
    DETSTREAM_CUDA_CHECK(cudaSetDevice(context_.engine_.device()));
    cudaStream_t stream = context_.stream_;
    for (std::size_t i = 0; i < images.size(); ++i) enqueue_letterbox(i, images[i]);
    context_.run_layers();
    DetectionFilterArgs filter;
    filter.predictions = static_cast<const float*>(context_.staging_address(0, false));
    filter.batch = batch_;
    filter.classes = classes_;
    filter.anchors = anchors_;
    filter.conf_threshold = conf_threshold;
    filter.candidates = static_cast<DetectionCandidate*>(candidates_.get());
    filter.counts = static_cast<unsigned*>(counts_.get());
    filter.capacity = anchors_;
    launch_detection_filter(filter, stream);
    // Counts and the first few candidates of every image in one round trip; the rest only when an
    // image has more (a low threshold, a crowded frame).
    auto* device_candidates = static_cast<const DetectionCandidate*>(candidates_.get());
    auto* host_candidates = static_cast<DetectionCandidate*>(host_candidates_.get());
    const std::size_t first = static_cast<std::size_t>(std::min(kFirstCopy, anchors_));
    const std::size_t capacity = static_cast<std::size_t>(anchors_);
    DETSTREAM_CUDA_CHECK(cudaMemcpyAsync(host_counts_.get(), counts_.get(), host_counts_.size(), cudaMemcpyDeviceToHost, stream));
    for (std::size_t b = 0; b < images.size(); ++b) {
      DETSTREAM_CUDA_CHECK(cudaMemcpyAsync(host_candidates + b * capacity, device_candidates + b * capacity,
                                           first * sizeof(DetectionCandidate), cudaMemcpyDeviceToHost, stream));
    }
    DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream));
    const auto* counts = static_cast<const unsigned*>(host_counts_.get());
    bool more = false;
    for (std::size_t b = 0; b < images.size(); ++b) {
      result_counts_[b] = std::min<std::size_t>(counts[b], capacity);
      if (result_counts_[b] > first) {
        more = true;
        DETSTREAM_CUDA_CHECK(cudaMemcpyAsync(host_candidates + b * capacity + first, device_candidates + b * capacity + first,
                                             (result_counts_[b] - first) * sizeof(DetectionCandidate), cudaMemcpyDeviceToHost, stream));
      }
    }
    if (more) DETSTREAM_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (std::size_t b = 0; b < images.size(); ++b) {
      for (std::size_t k = 0; k < result_counts_[b]; ++k) {
        const DetectionCandidate& c = host_candidates[b * capacity + k];
        results_[b * capacity + k] = {c.x1, c.y1, c.x2, c.y2, c.score, c.class_id, c.anchor};
      }
    }
  } catch (const std::exception& e) {
    // Leave the stream idle (the next call may reuse the staging buffers) and no stale results.
    (void)cudaStreamSynchronize(context_.stream_);
    (void)cudaGetLastError();
    std::fill(result_counts_.begin(), result_counts_.end(), 0);
    return Status::error(std::string("cuda frame path: ") + e.what());
  }
  return Status::ok();
}

std::span<const FrameCandidate> CudaFrameDetector::candidates(std::size_t image) const {
  if (image >= result_counts_.size()) return {};
  return {results_.data() + image * static_cast<std::size_t>(anchors_), result_counts_[image]};
}

}  // namespace detstream::inference::cuda
