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

// 16 fp16 values at a 16-byte aligned address, as floats.
__device__ __forceinline__ void load16(const __half* src, float (&v)[16]) {
  const uint4 raw[2] = {*reinterpret_cast<const uint4*>(src), *reinterpret_cast<const uint4*>(src + 8)};
  const __half2* pairs = reinterpret_cast<const __half2*>(raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float2 f = __half22float2(pairs[i]);
    v[2 * i] = f.x, v[2 * i + 1] = f.y;
  }
}

// side_distance for 16 fp16 bins read with two vector loads: the scalar version's 32 strided
// loads per side made the fused head the slowest layer at batch 32.
__device__ __forceinline__ float side_distance16(const DetectHeadParams& p, const __half* bins) {
  float v[16];
  load16(bins, v);
  float peak = v[0];
#pragma unroll
  for (int k = 1; k < 16; ++k) peak = fmaxf(peak, v[k]);
  float sum = 0.0f, dot = 0.0f;
#pragma unroll
  for (int k = 0; k < 16; ++k) {
    const float e = __expf(v[k] - peak);
    sum += e;
    dot += p.bin_weights[k] * e;
  }
  return dot / sum;
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
  for (int side = 0; side < 4; ++side) {
    d[side] = lv.box_vector8 ? side_distance16(p, static_cast<const __half*>(box.data) + at + side * 16)
                             : side_distance(p, box, at + side * p.bins * box.strides[1], box.strides[1]);
  }
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
  if (lv.cls_vector8 && last - first == kClassesPerItem) {
    float v[16];
    load16(static_cast<const __half*>(cls.data) + at + first, v);
#pragma unroll
    for (int c = 0; c < 16; ++c) store(p.y, y + (4 + first + c) * p.y.strides[1], activate_fast(kActSigmoid, v[c]));
    return;
  }
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

namespace {

bool vector8(const StridedOperand& o) {
  return o.dtype == kKernelF16 && o.strides[1] == 1 && reinterpret_cast<std::uintptr_t>(o.data) % 16 == 0 &&
         o.strides[0] % 8 == 0 && o.strides[2] % 8 == 0 && o.strides[3] % 8 == 0;
}

}  // namespace

void launch_detect_head(const DetectHeadParams& head, cudaStream_t stream) {
  DetectHeadParams params = head;
  for (int l = 0; l < params.levels; ++l) {
    params.level[l].box_vector8 = params.bins == 16 && vector8(params.level[l].box);
    params.level[l].cls_vector8 = vector8(params.level[l].cls);
  }
  const std::int64_t groups = 1 + (params.classes + kClassesPerItem - 1) / kClassesPerItem;
  const std::int64_t count = static_cast<std::int64_t>(params.batch) * groups * params.anchors;
  if (count <= 0) return;
  constexpr unsigned kBlock = 128;
  launch_dependent(detect_head_kernel, grid_for(count, kBlock), kBlock, 0, stream, params);
}

}  // namespace detstream::inference::cuda
