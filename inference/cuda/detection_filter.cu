// The detection filter: one thread per anchor (coalesced: each class row is contiguous over the
// anchors), a strict-greater sweep over the class rows, then one atomic slot per survivor.
#include <string>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/detection_filter.h"

namespace detstream::inference::cuda {

namespace {

__global__ void detection_filter_kernel(DetectionFilterArgs a) {
  const int anchor = blockIdx.x * blockDim.x + threadIdx.x;
  const int image = blockIdx.y;
  if (anchor >= a.anchors) return;
  const long long n = a.anchors;
  const float* block = a.predictions + static_cast<long long>(image) * (4 + a.classes) * n;
  const float* scores = block + 4 * n + anchor;
  float best = scores[0];
  int best_class = 0;
  for (int c = 1; c < a.classes; ++c) {
    const float s = scores[c * n];
    if (s > best) {
      best = s;
      best_class = c;
    }
  }
  if (!(best > a.conf_threshold)) return;
  const unsigned slot = atomicAdd(a.counts + image, 1u);
  if (slot >= static_cast<unsigned>(a.capacity)) return;
  const float cx = block[anchor], cy = block[n + anchor];
  const float half_w = block[2 * n + anchor] / 2.0f, half_h = block[3 * n + anchor] / 2.0f;
  DetectionCandidate& out = a.candidates[static_cast<long long>(image) * a.capacity + slot];
  out.x1 = cx - half_w;
  out.y1 = cy - half_h;
  out.x2 = cx + half_w;
  out.y2 = cy + half_h;
  out.score = best;
  out.class_id = best_class;
  out.anchor = anchor;
}

}  // namespace

void launch_detection_filter(const DetectionFilterArgs& a, cudaStream_t stream) {
  if (a.batch < 1 || a.classes < 1 || a.anchors < 1 || a.capacity < 1 || !a.predictions || !a.candidates || !a.counts) {
    throw Error("gpu detection filter: needs a batch, classes, anchors, a capacity and device buffers (got batch " +
                std::to_string(a.batch) + ", " + std::to_string(a.classes) + " classes, " + std::to_string(a.anchors) +
                " anchors, capacity " + std::to_string(a.capacity) + ")");
  }
  DETSTREAM_CUDA_CHECK(cudaMemsetAsync(a.counts, 0, sizeof(unsigned) * static_cast<std::size_t>(a.batch), stream));
  constexpr unsigned kBlock = 256;
  const dim3 grid((static_cast<unsigned>(a.anchors) + kBlock - 1) / kBlock, static_cast<unsigned>(a.batch));
  detection_filter_kernel<<<grid, kBlock, 0, stream>>>(a);
  DETSTREAM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace detstream::inference::cuda
