// Lowering of a planned graph to the CUDA backend's execution steps (pure C++, no CUDA, so it is
// tested without a GPU). Decides for every value where it lives (TensorRef), which node becomes a
// device step, and how large the activation arena is:
// - "Feature maps" (rank-4 values reached from the input through Conv, pooling, resize,
//   elementwise, channel Concat/Split) are stored NHWC in the compute precision (fp16 or fp32);
//   everything else (the detection head after its Reshape) is row-major fp32.
// - Split, Slice, Transpose, Identity and Reshape of packed data are views: no step, no copy.
// - Concat inputs are written in place into their slice of the output when their producer can
//   write strided output ("concat in place"); the other inputs are copied.
// - A residual Add fed by a convolution is folded into it (Step::inputs[1], added after the
//   activation), and a stem convolution with few input channels reads the graph input in place
//   (no conversion copy): both when the layouts allow it (LoweringOptions).
// - A chain of identical stride-1 MaxPools (SPPF) is one step with several outputs.
// - A nearest 2x Resize of a convolution's output (an FPN's upsampling) is written by the
//   convolution's epilogue, each value to its 2x2 block (LoweringOptions::fuse_upsample_bytes).
// - A 3-channel stem read in place followed by its only reader, a 16 -> 32 3x3 stride-2
//   convolution (YOLOv8's model.0 and model.1), is one kStemPair step: the stem's map is never
//   stored (LoweringOptions::fuse_stem_pair).
// - A YOLO detection head's tail (head_fusion.h: Reshape/Concat/DFL softmax/decode/Sigmoid after
//   the last convolutions) becomes one kDetectHead step reading those convolutions' outputs as
//   they are (LoweringOptions::fuse_detect_head); anything that does not match exactly is
//   lowered node by node.
// - Buffers whose lifetimes do not overlap share arena memory (memory_planner.h).
// The result is immutable once made; thread-safe to read.
#pragma once

#include <cstddef>
#include <vector>

#include "inference/cuda/head_fusion.h"
#include "inference/cuda/tensor_ref.h"
#include "inference/graph/graph.h"
#include "inference/ops/activation.h"
#include "inference/plan/plan.h"

namespace detstream::inference::cuda {

enum class RootKind { kArena, kConstant };

struct Root {
  RootKind kind = RootKind::kArena;
  std::size_t bytes = 0;
  int constant_value = kNoValue;  // value id uploaded (as float32, row-major) for kConstant
  int first_step = -1;            // live interval, steps (-1: written before step 0 by the input copy)
  int last_step = -1;
  std::size_t arena_offset = 0;   // bytes, for kArena
};

enum class StepKind { kConv, kStemPair, kElementwise, kMaxPool, kResize, kSoftmax, kDetectHead };

// y = activation(op(a, b)); kCopy reads a only (layout/precision conversion, Concat, Reshape).
enum class ElementwiseOp { kCopy, kAdd, kSub, kMul, kDiv };

struct Step {
  StepKind kind = StepKind::kElementwise;
  int node = -1;  // graph node implemented; -1 for copies the lowering adds
  ElementwiseOp op = ElementwiseOp::kCopy;
  ops::Activation activation = ops::Activation::kNone;
  // kConv: X, then optionally a residual added after the activation (weights and bias come from
  // the node; the residual has the output's shape and does not overlap it unless in place).
  // kDetectHead: box and class maps of each level in turn (box_0, cls_0, box_1, ...).
  std::vector<TensorRef> inputs;
  TensorRef output;
  // kMaxPool: the outputs of the identical pools chained after this one (SPPF), each pooling the
  // previous output; the step computes all of them (LoweringOptions::fuse_pool_chain).
  std::vector<TensorRef> chained_outputs;
  int head = -1;  // kDetectHead: index into LoweredGraph::heads
  // kConv: a nearest 2x upsampling of `output` the convolution also writes (a Resize folded into
  // it, LoweringOptions::fuse_upsample_bytes); invalid when there is none.
  TensorRef upsampled;
  // kStemPair: the second convolution (its activation is its node's); `node` is the stem, whose
  // activation is `activation`, inputs[0] is the stem's input and `output` the second one's output.
  int second_node = -1;
};

// The longest chain of pools one step computes (SPPF has three).
inline constexpr int kMaxPoolChain = 3;

struct LoweringOptions {
  bool feature_nhwc = true;         // feature-map layout: NHWC (true) or NCHW
  bool concat_in_place = true;
  // Convolutions that can (strided_conv_capable) read non-packed X and write non-packed Y, so
  // their inputs may be channel slices and their outputs go into a concatenation in place.
  bool conv_strided_input = false;
  bool conv_strided_output = false;
  // Fold "Add(Conv(x), r)" into the convolution when the Conv output feeds only that Add.
  bool fuse_residual_add = true;
  // Let direct_conv_capable convolutions read the graph input as it comes (fp32 NCHW).
  bool conv_direct_input = true;
  // Run a matched detection head's tail as one step (head_fusion.h).
  bool fuse_detect_head = true;
  // Run a chain of identical stride-1 "same" MaxPools (SPPF) as one step (Step::chained_outputs).
  bool fuse_pool_chain = true;
  // Run a stem read in place and the 16 -> 32 stride-2 convolution after it as one step.
  bool fuse_stem_pair = true;
  // Let a strided-output convolution also write a nearest 2x Resize of its output
  // (Step::upsampled) when that map holds at most this many bytes (0: never). The epilogue's
  // four 4-byte stores per value save a launch where launch latency rules (H200, yolov8n fp16:
  // batch 1 0.311 -> 0.308 ms) but lose to the resize kernel's 16-byte copies on large maps
  // (batch 32: 2.256 -> 2.302 ms; 2026-12-03_s7a logs).
  std::size_t fuse_upsample_bytes = std::size_t{4} << 20;
  // Merge convolutions that read one input alike into one (SiblingConvMerge; the backend's
  // assign rewrites the graph, so the plan holds the merged node). Taken only with
  // conv_strided_input, where the merged output's channel slices are read in place. H200,
  // yolov8n fp16 (the head's box/class pair at each level): batch 1 0.294-0.302 -> 0.290-0.295 ms,
  // batch 32 2.091 -> 2.064-2.070 ms (2026-12-03_s8c logs).
  bool merge_sibling_convs = true;
};

// Whether the implicit-GEMM convolution can run `node` on strided NHWC fp16 tensors: 2-D, one
// group, input and output channels multiples of 8. (Offsets and strides must also be multiples of
// 8 elements: vector_aligned.)
bool strided_conv_capable(const Graph& graph, const Node& node, Precision precision, const LoweringOptions& options);
// Whether the direct small-channel kernel can run `node` from an input in any layout and type to
// NHWC fp16: fp16 precision, NHWC features, 2-D, one group, at most 4 input channels, output
// channels a multiple of 8.
bool direct_conv_capable(const Graph& graph, const Node& node, Precision precision, const LoweringOptions& options);
// NHWC with unit channel stride and offset/other strides multiples of 8 elements (16 bytes).
bool vector_aligned(const TensorRef& ref);
// NHWC (channel stride 1) with an even offset and even pixel strides: channel pairs can be
// written as one 4-byte half2 (outputs with a channel count that is not a multiple of 8).
bool pair_aligned(const TensorRef& ref);

struct LoweredGraph {
  std::vector<TensorRef> values;          // by value id; invalid for values no step reads (weights)
  std::vector<Root> roots;
  std::vector<Step> steps;
  std::vector<DetectHead> heads;          // the fused heads, by Step::head
  std::vector<TensorRef> input_staging;   // per graph input: packed row-major fp32, arena
  std::vector<TensorRef> output_staging;  // per graph output: packed row-major fp32, arena
  std::size_t arena_bytes = 0;
};

// The storage type of computed feature maps at `precision`.
DataType feature_dtype(Precision precision);
// Throws Error naming the node for anything the CUDA backend cannot run.
LoweredGraph lower_graph(const Graph& graph, Precision precision, const LoweringOptions& options);

}  // namespace detstream::inference::cuda
