// The fused detection-head kernel (detect_head.h). Threads take (image, work group, anchor)
// items, anchor fastest so that a warp writes consecutive output elements: group 0 decodes the
// anchor's box, the others apply the sigmoid to a slice of its class logits (more threads than
// anchors, so 8400 anchors still fill a large GPU).
#include "inference/cuda/detect_head.h"
#include "inference/cuda/kernel_util.cuh"

namespace detstream::inference::cuda {

namespace {

constexpr int kClassesPerItem = 16;

__device__ __forceinline__ int level_of(const DetectHeadParams& p, int anchor) {
  int l = 0;
  while (l + 1 < p.levels && anchor >= p.level[l + 1].first_anchor) ++l;
  return l;
}

// The expectation of the softmax over one side's bins (the DFL: Softmax, then the 1x1 conv).
__device__ __forceinline__ float side_distance(const DetectHeadParams& p, const StridedOperand& box, std::int64_t first,
                                               std::int64_t channel_stride) {
  float peak = -INFINITY;
  for (int k = 0; k < p.bins; ++k) peak = fmaxf(peak, load(box, first + k * channel_stride));
  float sum = 0.0f, dot = 0.0f;
  for (int k = 0; k < p.bins; ++k) {
    const float e = expf(load(box, first + k * channel_stride) - peak);
    sum += e;
    dot += p.bin_weights[k] * e;
  }
  return dot / sum;
}

__device__ __forceinline__ void decode_box(const DetectHeadParams& p, const DetectHeadLevelParams& lv, int n, int h,
                                           int w, int anchor) {
  const StridedOperand& box = lv.box;
  const std::int64_t at = n * box.strides[0] + h * box.strides[2] + w * box.strides[3];
  float d[4];
#pragma unroll
  for (int side = 0; side < 4; ++side)
    d[side] = side_distance(p, box, at + side * p.bins * box.strides[1], box.strides[1]);
  // The graph's operations in its order: x1y1 = anchor - lt, x2y2 = anchor + rb, centre =
  // (x1y1 + x2y2) / k, size = x2y2 - x1y1, both times the stride (so fp32 results match it).
  const float ax = static_cast<float>(w) + p.anchor_offset, ay = static_cast<float>(h) + p.anchor_offset;
  const float x1 = ax - d[0], y1 = ay - d[1], x2 = ax + d[2], y2 = ay + d[3];
  const float out[4] = {(x1 + x2) / p.divisor, (y1 + y2) / p.divisor, x2 - x1, y2 - y1};
  const std::int64_t y = n * p.y.strides[0] + anchor * p.y.strides[2];
#pragma unroll
  for (int r = 0; r < 4; ++r) store(p.y, y + r * p.y.strides[1], out[r] * lv.stride);
}

__device__ __forceinline__ void class_scores(const DetectHeadParams& p, const DetectHeadLevelParams& lv, int n, int h,
                                             int w, int anchor, int first) {
  const StridedOperand& cls = lv.cls;
  const std::int64_t at = n * cls.strides[0] + h * cls.strides[2] + w * cls.strides[3];
  const std::int64_t y = n * p.y.strides[0] + anchor * p.y.strides[2];
  const int last = min(first + kClassesPerItem, p.classes);
  for (int c = first; c < last; ++c) {
    store(p.y, y + (4 + c) * p.y.strides[1], activate(kActSigmoid, load(cls, at + c * cls.strides[1])));
  }
}

__global__ void detect_head_kernel(DetectHeadParams p) {
  wait_for_producers();
  release_dependents();
  const int groups = 1 + (p.classes + kClassesPerItem - 1) / kClassesPerItem;
  const int count = p.batch * groups * p.anchors;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
    const int anchor = i % p.anchors;
    const int rest = i / p.anchors;
    const int group = rest % groups, n = rest / groups;
    const DetectHeadLevelParams& lv = p.level[level_of(p, anchor)];
    const int cell = anchor - lv.first_anchor;
    const int h = cell / lv.width, w = cell % lv.width;
    if (group == 0) {
      decode_box(p, lv, n, h, w, anchor);
    } else {
      class_scores(p, lv, n, h, w, anchor, (group - 1) * kClassesPerItem);
    }
  }
}

}  // namespace

void launch_detect_head(const DetectHeadParams& params, cudaStream_t stream) {
  const std::int64_t groups = 1 + (params.classes + kClassesPerItem - 1) / kClassesPerItem;
  const std::int64_t count = static_cast<std::int64_t>(params.batch) * groups * params.anchors;
  if (count <= 0) return;
  constexpr unsigned kBlock = 128;
  launch_dependent(detect_head_kernel, grid_for(count, kBlock), kBlock, 0, stream, params);
}

}  // namespace detstream::inference::cuda
