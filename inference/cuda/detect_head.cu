// The fused detection-head kernel (detect_head.h). Threads take (image, work group, anchor)
// items, anchor fastest so that a warp writes consecutive output elements: group 0 decodes the
// anchor's box, the others apply the sigmoid to a slice of its class logits (more threads than
// anchors, so 8400 anchors still fill a large GPU).
#include "inference/cuda/detect_head.h"
#include "inference/cuda/conv_mma.cuh"
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

// The work items of output anchors 0 .. anchors - 1, over `blocks` CTAs of which this is `block`.
__device__ __forceinline__ void decode_items(const DetectHeadParams& p, int anchors, int block, int blocks) {
  const int groups = 1 + (p.classes + kClassesPerItem - 1) / kClassesPerItem;
  const int count = p.batch * groups * anchors;
  for (int i = block * blockDim.x + threadIdx.x; i < count; i += blocks * blockDim.x) {
    const int anchor = i % anchors;
    const int rest = i / anchors;
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

__global__ void detect_head_kernel(DetectHeadParams p) {
  wait_for_producers();
  release_dependents();
  decode_items(p, p.anchors, blockIdx.x, gridDim.x);
}

// --- the last level with its final convolutions (launch_detect_head_folded) ----------------------

constexpr int kFoldedWarps = 8;
constexpr unsigned kAllLanes = 0xffffffffu;

// Sum / max over each 16-lane half of the warp.
__device__ __forceinline__ float half_warp_sum(float v) {
  for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(kAllLanes, v, offset);
  return v;
}
__device__ __forceinline__ float half_warp_max(float v) {
  for (int offset = 8; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kAllLanes, v, offset));
  return v;
}

// out[j] = bias[o] + sum_c x[c] * w[c][o] for o = lane + 32 j (j < J, o < outputs), all in shared memory.
template <int J>
__device__ __forceinline__ void dot_outputs(float (&out)[J], const float* x, int channels, const float* w, const float* bias,
                                            int outputs, int lane) {
#pragma unroll
  for (int j = 0; j < J; ++j) out[j] = lane + 32 * j < outputs ? bias[lane + 32 * j] : 0.0f;
  for (int c = 0; c < channels; ++c) {
    const float xc = x[c];
#pragma unroll
    for (int j = 0; j < J; ++j)
      if (lane + 32 * j < outputs) out[j] = fmaf(xc, w[c * outputs + lane + 32 * j], out[j]);
  }
}

// A warp per pixel of the last level, `blocks` CTAs of which this is `block`. Shared memory: the
// pack (copied while the producers finish: constants), then each warp's input channels. Lanes
// hold box logits o = lane and lane + 32, bin lane % 16 of sides lane / 16 and 2 + lane / 16, so
// each half-warp takes the softmax over one side's 16 bins.
__device__ __forceinline__ void folded_level(const DetectHeadParams& p, const FoldedHeadConvs& f, int block, int blocks) {
  extern __shared__ __align__(16) float folded_shared[];
  constexpr int kBoxOutputs = 4 * kFoldedDetectBins;
  const int pack_floats = folded_head_pack_floats(f.box_channels, f.cls_channels, p.classes);
  for (int i = 4 * threadIdx.x; i < pack_floats; i += 4 * blockDim.x) cp_async16(folded_shared + i, f.pack + i, true);
  cp_async_commit();
  wait_for_producers();
  release_dependents();
  cp_async_wait<0>();
  __syncthreads();
  const float* box_w = folded_shared;
  const float* cls_w = box_w + f.box_channels * kBoxOutputs;
  const float* box_b = cls_w + f.cls_channels * p.classes;
  const float* cls_b = box_b + kBoxOutputs;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float* inputs = folded_shared + pack_floats + warp * (f.box_channels + f.cls_channels);
  const DetectHeadLevelParams& lv = p.level[p.levels - 1];
  const int cells = lv.height * lv.width;
  for (int item = block * kFoldedWarps + warp; item < p.batch * cells; item += blocks * kFoldedWarps) {
    const int cell = item % cells, n = item / cells;
    const int h = cell / lv.width, w = cell % lv.width;
    const std::int64_t box_at = n * lv.box.strides[0] + h * lv.box.strides[2] + w * lv.box.strides[3];
    const std::int64_t cls_at = n * lv.cls.strides[0] + h * lv.cls.strides[2] + w * lv.cls.strides[3];
    for (int c = lane; c < f.box_channels; c += 32) inputs[c] = load(lv.box, box_at + c * lv.box.strides[1]);
    for (int c = lane; c < f.cls_channels; c += 32) inputs[f.box_channels + c] = load(lv.cls, cls_at + c * lv.cls.strides[1]);
    __syncwarp();
    float logits[2];
    dot_outputs<2>(logits, inputs, f.box_channels, box_w, box_b, kBoxOutputs, lane);
    float d[2];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const float e = __expf(logits[j] - half_warp_max(logits[j]));
      d[j] = half_warp_sum(p.bin_weights[lane % 16] * e) / half_warp_sum(e);
    }
    const float top = __shfl_sync(kAllLanes, d[0], 16), bottom = __shfl_sync(kAllLanes, d[1], 16);  // sides 1 and 3
    const std::int64_t y = n * p.y.strides[0] + (lv.first_anchor + cell) * p.y.strides[2];
    if (lane == 0) {
      const float ax = static_cast<float>(w) + p.anchor_offset, ay = static_cast<float>(h) + p.anchor_offset;
      const float x1 = ax - d[0], y1 = ay - top, x2 = ax + d[1], y2 = ay + bottom;
      const float out[4] = {(x1 + x2) / p.divisor, (y1 + y2) / p.divisor, x2 - x1, y2 - y1};
#pragma unroll
      for (int r = 0; r < 4; ++r) store(p.y, y + r * p.y.strides[1], out[r] * lv.stride);
    }
    float scores[kFoldedDetectMaxClasses / 32];
    dot_outputs<kFoldedDetectMaxClasses / 32>(scores, inputs + f.box_channels, f.cls_channels, cls_w, cls_b, p.classes, lane);
#pragma unroll
    for (int j = 0; j < kFoldedDetectMaxClasses / 32; ++j)
      if (lane + 32 * j < p.classes) store(p.y, y + (4 + lane + 32 * j) * p.y.strides[1], activate_fast(kActSigmoid, scores[j]));
    __syncwarp();  // every lane is done with `inputs` before the next pixel's are staged
  }
}

// CTAs below plain_blocks decode the levels before the last as detect_head_kernel does; the
// others compute the last level with its convolutions.
__global__ void __launch_bounds__(kFoldedWarps * 32) detect_head_folded_kernel(DetectHeadParams p, FoldedHeadConvs f, int plain_blocks) {
  const int block = static_cast<int>(blockIdx.x);
  if (block >= plain_blocks) return folded_level(p, f, block - plain_blocks, static_cast<int>(gridDim.x) - plain_blocks);
  wait_for_producers();
  release_dependents();
  decode_items(p, p.level[p.levels - 1].first_anchor, block, plain_blocks);
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

void launch_detect_head_folded(const DetectHeadParams& head, const FoldedHeadConvs& convs, cudaStream_t stream) {
  const long long weight_bytes = 4LL * (convs.box_channels * 4LL * kFoldedDetectBins + static_cast<long long>(convs.cls_channels) * head.classes);
  if (head.levels < 1 || head.bins != kFoldedDetectBins || head.classes < 1 || head.classes > kFoldedDetectMaxClasses ||
      convs.box_channels < 1 || convs.cls_channels < 1 || convs.box_channels > kFoldedDetectMaxChannels ||
      convs.cls_channels > kFoldedDetectMaxChannels || weight_bytes > kFoldedDetectMaxWeightBytes) {
    throw CudaError("detect_head_folded: 16 bins, 1 to 128 classes, 1 to 512 input channels and at most 48 KiB of weights");
  }
  DetectHeadParams params = head;
  for (int l = 0; l < params.levels; ++l) {
    params.level[l].box_vector8 = params.bins == 16 && vector8(params.level[l].box);
    params.level[l].cls_vector8 = vector8(params.level[l].cls);
  }
  constexpr unsigned kBlock = kFoldedWarps * 32;
  const std::size_t shared =
      (static_cast<std::size_t>(folded_head_pack_floats(convs.box_channels, convs.cls_channels, params.classes)) +
       static_cast<std::size_t>(kFoldedWarps) * static_cast<std::size_t>(convs.box_channels + convs.cls_channels)) * sizeof(float);
  constexpr std::size_t kMostShared = kFoldedDetectMaxWeightBytes + (4 * kFoldedDetectBins + kFoldedDetectMaxClasses + 3 +
                                                                      kFoldedWarps * 2 * kFoldedDetectMaxChannels) * sizeof(float);
  static const bool opted_in = allow_shared(detect_head_folded_kernel, kMostShared);
  (void)opted_in;
  const DetectHeadLevelParams& last = params.level[params.levels - 1];
  const std::int64_t groups = 1 + (params.classes + kClassesPerItem - 1) / kClassesPerItem;
  const std::int64_t plain = static_cast<std::int64_t>(params.batch) * groups * last.first_anchor;
  const std::int64_t pixels = static_cast<std::int64_t>(params.batch) * last.height * last.width;
  const unsigned plain_blocks = plain > 0 ? grid_for(plain, kBlock) : 0u;
  const unsigned folded_blocks = grid_for(pixels, kFoldedWarps);
  launch_dependent(detect_head_folded_kernel, plain_blocks + folded_blocks, kBlock, shared, stream, params, convs,
                   static_cast<int>(plain_blocks));
}

}  // namespace detstream::inference::cuda
