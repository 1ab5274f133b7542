// The CUDA backend's lowering, checked on the CPU: layouts, views, concatenation in place, the
// arena plan, and (through a CPU interpreter of the lowered steps on the planned arena) the
// numbers against a plain lowering and, where its kernels exist, the reference backend.
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/lowering.h"

#include <gtest/gtest.h>

#include "graph_fixtures.h"
#include "inference/core/error.h"
#include "lowered_interpreter.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/cuda_test_support.h"

namespace detstream::inference::cuda {
namespace {

using testing::LoweredInterpreter;

int count_steps(const LoweredGraph& l, const Graph& g, const std::string& op) {
  int n = 0;
  for (const Step& s : l.steps) n += (s.node >= 0 && g.nodes[static_cast<std::size_t>(s.node)].op_type == op) ? 1 : 0;
  return n;
}

double rel_l2(const Tensor& a, const Tensor& b) {
  return detstream::testing::relative_l2(a.data<float>(), b.data<float>(), static_cast<std::size_t>(b.count()));
}

TEST(CudaLowering, FeatureMapsAreNhwcFp16AndTheHeadIsRowMajorFp32) {
  const Graph g = testing::mini_yolo(2);
  const LoweredGraph l = lower_graph(g, Precision::kFp16, {});
  for (const Step& s : l.steps) {
    if (s.kind != StepKind::kConv) continue;
    const bool dfl = g.nodes[static_cast<std::size_t>(s.node)].inputs[1] == g.find_value("bins");
    EXPECT_EQ(s.output.dtype, dfl ? DataType::kFloat32 : DataType::kFloat16);
    EXPECT_EQ(s.inputs[0].dtype, s.output.dtype);
    if (!dfl) {
      EXPECT_EQ(s.output.strides[1], 1) << "feature maps are channels-last";
    }
  }
  ASSERT_EQ(l.output_staging.size(), 1u);
  EXPECT_EQ(l.output_staging[0].dtype, DataType::kFloat32);
  EXPECT_TRUE(is_packed_row_major(l.output_staging[0]));
}

TEST(CudaLowering, SplitSliceTransposeAndPackedReshapeAreViews) {
  const Graph g = testing::mini_yolo(1);
  const LoweredGraph l = lower_graph(g, Precision::kFp16, {});
  for (const char* op : {"Split", "Slice", "Transpose"}) EXPECT_EQ(count_steps(l, g, op), 0) << op;
  // Reshape copies only where it reads an NHWC conv output (2 of 4); the others are views.
  EXPECT_EQ(count_steps(l, g, "Reshape"), 2);
}

TEST(CudaLowering, ConcatInputsAreWrittenInPlace) {
  const Graph g = testing::mini_yolo(1);
  LoweringOptions packed_convs;  // default: cuDNN reads and writes packed tensors only
  const LoweredGraph l = lower_graph(g, Precision::kFp16, packed_convs);
  // In place: the C2f Add, both MaxPools, the Resize, the head's Div/Sub and the final Mul/Sigmoid.
  // Copied: the C2f split halves (cv1 is a conv), the SPPF's and the upsample concat's conv inputs.
  EXPECT_EQ(count_steps(l, g, "Concat"), 2 + 1 + 1);
  LoweringOptions strided;
  strided.conv_strided_input = strided.conv_strided_output = true;
  EXPECT_EQ(count_steps(lower_graph(g, Precision::kFp16, strided), g, "Concat"), 4)
      << "channel counts that are not multiples of 8 keep convolutions packed";
  const Graph wide = testing::mini_yolo(1, 8);
  EXPECT_EQ(count_steps(lower_graph(wide, Precision::kFp16, strided), wide, "Concat"), 1)
      << "with strided convolutions only the conv of the 3-channel image stays packed";
  EXPECT_EQ(count_steps(lower_graph(wide, Precision::kFp32, strided), wide, "Concat"), 4)
      << "the strided convolution kernel is fp16 only";
  LoweringOptions off;
  off.concat_in_place = false;
  EXPECT_EQ(count_steps(lower_graph(g, Precision::kFp16, off), g, "Concat"), 3 + 3 + 2 + 2 + 2);
}

TEST(CudaLowering, StemConvolutionsReadTheGraphInputInPlaceWhenEveryReaderCan) {
  auto input_copies = [](const LoweredGraph& l) {
    int copies = 0;
    for (const Step& s : l.steps) {
      copies += s.kind == StepKind::kElementwise && s.inputs[0].root == l.input_staging[0].root ? 1 : 0;
    }
    return copies;
  };
  // Width 8: both convolutions of the image have 8k output channels, so both read it in place.
  const Graph wide = testing::mini_yolo(1, 8);
  const LoweredGraph l = lower_graph(wide, Precision::kFp16, {});
  EXPECT_EQ(input_copies(l), 0);
  for (const Step& s : l.steps) {
    if (s.kind == StepKind::kConv && s.inputs[0].root == l.input_staging[0].root) {
      EXPECT_EQ(s.inputs[0].dtype, DataType::kFloat32);
      EXPECT_EQ(s.output.dtype, DataType::kFloat16);
      EXPECT_TRUE(is_packed_nhwc(s.output));
    }
  }
  // Width 1: one reader has 4 output channels (the direct kernel wants multiples of 8).
  EXPECT_EQ(input_copies(lower_graph(testing::mini_yolo(1, 1), Precision::kFp16, {})), 1);
  LoweringOptions off;
  off.conv_direct_input = false;
  EXPECT_EQ(input_copies(lower_graph(wide, Precision::kFp16, off)), 1);
  EXPECT_EQ(input_copies(lower_graph(wide, Precision::kFp32, {})), 1) << "the direct kernel writes fp16";
}

TEST(CudaLowering, ResidualAddIsFoldedIntoTheConvolutionThatFeedsIt) {
  const Graph wide = testing::mini_yolo(1, 8);
  LoweringOptions strided;
  strided.conv_strided_input = strided.conv_strided_output = true;
  const LoweredGraph l = lower_graph(wide, Precision::kFp16, strided);
  // The head's two anchor Adds stay; the C2f Add is the convolution's epilogue now.
  EXPECT_EQ(count_steps(l, wide, "Add"), 2);
  int folded = 0;
  for (const Step& s : l.steps) {
    if (s.kind != StepKind::kConv || s.inputs.size() != 2) continue;
    ++folded;
    EXPECT_EQ(s.inputs[1].shape, s.output.shape);
    EXPECT_TRUE(vector_aligned(s.inputs[1]) && vector_aligned(s.output));
    EXPECT_EQ(s.inputs[1].root, s.output.root) << "both live in the C2f concatenation, as disjoint channel slices";
    EXPECT_NE(s.inputs[1].offset, s.output.offset);
  }
  EXPECT_EQ(folded, 1);
  strided.fuse_residual_add = false;
  EXPECT_EQ(count_steps(lower_graph(wide, Precision::kFp16, strided), wide, "Add"), 3);
  // Packed-only convolutions cannot write into the concatenation: the Add stays a step.
  EXPECT_EQ(count_steps(lower_graph(wide, Precision::kFp16, {}), wide, "Add"), 3);
}

// SPPF-like chains: up to three identical stride-1 "same" pools become one step (the first
// pool's, the others as chained outputs); a fourth starts a new chain; a strided pool never chains.
TEST(CudaLowering, ChainedMaxPoolsAreOneStep) {
  testing::TestGraph t;
  const int x = t.input("x", {2, 3, 9, 7});
  const int c = t.conv(x, 16, 1, 1, true);
  const Shape same{2, 16, 9, 7};
  const Attributes pool{{"kernel_shape", Attribute::of_ints({5, 5})}, {"strides", Attribute::of_ints({1, 1})},
                        {"pads", Attribute::of_ints({2, 2, 2, 2})}};
  const int p1 = t.op("MaxPool", {c}, same, pool);
  const int p2 = t.op("MaxPool", {p1}, same, pool);
  const int p3 = t.op("MaxPool", {p2}, same, pool);
  const int p4 = t.op("MaxPool", {p3}, same, pool);
  const int strided = t.op("MaxPool", {p1}, {2, 16, 5, 4},
                           {{"kernel_shape", Attribute::of_ints({3, 3})}, {"strides", Attribute::of_ints({2, 2})},
                            {"pads", Attribute::of_ints({1, 1, 1, 1})}});
  t.output(t.op("Concat", {c, p1, p2, p3, p4}, {2, 80, 9, 7}, {{"axis", Attribute::of_int(1)}}));
  t.output(strided);
  const Graph& g = t.graph;
  auto chains = [&](const LoweredGraph& l) {
    std::vector<std::size_t> lengths;
    for (const Step& s : l.steps)
      if (s.kind == StepKind::kMaxPool) lengths.push_back(s.chained_outputs.size());
    return lengths;
  };
  const LoweredGraph fused = lower_graph(g, Precision::kFp16, {});
  EXPECT_EQ(chains(fused), (std::vector<std::size_t>{2, 0, 0})) << "p1 computes p2 and p3; p4 and the strided pool alone";
  LoweringOptions off;
  off.fuse_pool_chain = false;
  const LoweredGraph separate = lower_graph(g, Precision::kFp16, off);
  EXPECT_EQ(chains(separate), (std::vector<std::size_t>(5, 0)));
  const std::vector<Tensor> inputs{testing::random_tensor({2, 3, 9, 7}, 6)};
  const std::vector<Tensor> a = LoweredInterpreter(g, fused).run(inputs), b = LoweredInterpreter(g, separate).run(inputs);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(a[i], b[i]), 0.0) << "output " << i;
}

// YOLOv8's model.0 and model.1 (3 -> 16 -> 32 channels, 3x3 stride 2) are one step when the stem
// reads the input in place and its map has no other reader; the intermediate map gets no storage.
TEST(CudaLowering, StemAndTheStrideTwoConvolutionAfterItAreOneStep) {
  auto stem_pair = [](std::int64_t width, bool second_reader) {
    testing::TestGraph t;
    const int x = t.input("x", {2, 3, 18, width});
    const int stem = t.conv(x, 16, 3, 2, true);
    const int next = t.conv(stem, 32, 3, 2, true);
    t.output(t.conv(next, 16, 1, 1, false));
    if (second_reader) t.output(t.conv(stem, 8, 1, 1, false));
    return t;
  };
  auto pairs = [](const LoweredGraph& l) {
    return std::count_if(l.steps.begin(), l.steps.end(), [](const Step& s) { return s.kind == StepKind::kStemPair; });
  };
  const testing::TestGraph t = stem_pair(20, false);
  const Graph& g = t.graph;
  const LoweredGraph fused = lower_graph(g, Precision::kFp16, {});
  ASSERT_EQ(pairs(fused), 1);
  const Step& pair = fused.steps[0];
  EXPECT_EQ(pair.kind, StepKind::kStemPair);
  EXPECT_EQ(pair.node, 0);
  EXPECT_EQ(pair.second_node, 1);
  EXPECT_EQ(pair.inputs[0].root, fused.input_staging[0].root) << "the stem reads the fp32 input in place";
  EXPECT_FALSE(fused.values[static_cast<std::size_t>(g.nodes[0].outputs[0])].valid()) << "the stem's map is never stored";
  EXPECT_EQ(fused.steps.size(), 3u) << "the pair, the 1x1 convolution, the copy to the fp32 output";
  LoweringOptions off;
  off.fuse_stem_pair = false;
  const LoweredGraph separate = lower_graph(g, Precision::kFp16, off);
  EXPECT_EQ(pairs(separate), 0);
  EXPECT_EQ(separate.steps.size(), 4u);
  const std::vector<Tensor> inputs{testing::random_tensor({2, 3, 18, 20}, 8, 0.0f, 1.0f)};
  EXPECT_EQ(rel_l2(LoweredInterpreter(g, fused).run(inputs)[0], LoweredInterpreter(g, separate).run(inputs)[0]), 0.0);

  EXPECT_EQ(pairs(lower_graph(stem_pair(20, true).graph, Precision::kFp16, {})), 0) << "the stem's map has a second reader";
  EXPECT_EQ(pairs(lower_graph(stem_pair(18, false).graph, Precision::kFp16, {})), 0) << "input width not a multiple of 4";
  EXPECT_EQ(pairs(lower_graph(g, Precision::kFp32, {})), 0) << "the fused kernel is fp16";
}

// A nearest 2x Resize of a convolution on the strided kernels is written by that convolution (into
// its concatenation slot): no Resize step, the same numbers.
TEST(CudaLowering, UpsamplingAfterAConvolutionIsWrittenByIt) {
  const Graph g = testing::mini_yolo(2, 8);
  LoweringOptions strided;
  strided.conv_strided_input = strided.conv_strided_output = true;
  auto folded = [&](const LoweredGraph& l) {
    return std::count_if(l.steps.begin(), l.steps.end(), [](const Step& s) { return s.upsampled.valid(); });
  };
  const LoweredGraph fused = lower_graph(g, Precision::kFp16, strided);
  EXPECT_EQ(count_steps(fused, g, "Resize"), 0);
  ASSERT_EQ(folded(fused), 1);
  const Step& conv = *std::find_if(fused.steps.begin(), fused.steps.end(), [](const Step& s) { return s.upsampled.valid(); });
  EXPECT_EQ(conv.kind, StepKind::kConv);
  EXPECT_EQ(conv.upsampled.shape, (Shape{2, 64, 12, 10}));
  EXPECT_EQ(conv.upsampled.strides[3], 96) << "written in place into its concatenation's slot (64 + 32 channels)";
  LoweringOptions small = strided;
  small.fuse_upsample_bytes = 2 * 64 * 12 * 10 * 2 - 2;
  EXPECT_EQ(folded(lower_graph(g, Precision::kFp16, small)), 0) << "a map larger than fuse_upsample_bytes";
  LoweringOptions off = strided;
  off.fuse_upsample_bytes = 0;
  const LoweredGraph separate = lower_graph(g, Precision::kFp16, off);
  EXPECT_EQ(count_steps(separate, g, "Resize"), 1);
  EXPECT_EQ(folded(separate), 0);
  const std::vector<Tensor> inputs{testing::random_tensor({2, 3, 12, 10}, 9, 0.0f, 1.0f)};
  EXPECT_EQ(rel_l2(LoweredInterpreter(g, fused).run(inputs)[0], LoweredInterpreter(g, separate).run(inputs)[0]), 0.0);

  EXPECT_EQ(folded(lower_graph(g, Precision::kFp32, strided)), 0) << "the strided convolution kernels are fp16";
  EXPECT_EQ(folded(lower_graph(g, Precision::kFp16, {})), 0) << "convolutions on packed cuDNN tensors";
  Graph corners = g;
  for (Node& node : corners.nodes)
    if (node.op_type == "Resize") node.attributes["coordinate_transformation_mode"] = Attribute::of_string("align_corners");
  EXPECT_EQ(folded(lower_graph(corners, Precision::kFp16, strided)), 0) << "align_corners does not repeat pixels 2x2";
}

TEST(CudaLowering, ArenaReusesMemoryAndLiveBuffersNeverShareBytes) {
  const Graph g = testing::mini_yolo(2);
  const LoweredGraph l = lower_graph(g, Precision::kFp32, {});
  std::size_t total = 0;
  for (const Root& r : l.roots) total += r.kind == RootKind::kArena ? r.bytes : 0;
  EXPECT_LT(l.arena_bytes, total);
  for (std::size_t a = 0; a < l.roots.size(); ++a)
    for (std::size_t b = a + 1; b < l.roots.size(); ++b) {
      const Root &x = l.roots[a], &y = l.roots[b];
      if (x.kind != RootKind::kArena || y.kind != RootKind::kArena) continue;
      if (x.first_step > y.last_step || y.first_step > x.last_step) continue;
      EXPECT_TRUE(x.arena_offset + x.bytes <= y.arena_offset || y.arena_offset + y.bytes <= x.arena_offset)
          << "roots " << a << " and " << b << " are live together but overlap";
    }
}

class CudaLoweringWidth : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(CudaLoweringWidth, InterpretedProgramsAgreeAcrossLayoutsAndWithTheReference) {
  const Graph g = testing::mini_yolo(2, GetParam());
  const std::vector<Tensor> inputs{testing::random_tensor({2, 3, 12, 10}, 3, 0.0f, 1.0f)};
  LoweringOptions plain;
  plain.feature_nhwc = false;
  plain.concat_in_place = false;
  const LoweredGraph base_program = lower_graph(g, Precision::kFp32, plain);
  const Tensor base = LoweredInterpreter(g, base_program).run(inputs)[0];
  LoweringOptions strided;
  strided.conv_strided_input = strided.conv_strided_output = true;
  for (const LoweringOptions& options : {LoweringOptions{}, strided}) {
    const LoweredGraph fp32 = lower_graph(g, Precision::kFp32, options);
    EXPECT_LT(rel_l2(LoweredInterpreter(g, fp32).run(inputs)[0], base), 1e-6);
    const LoweredGraph fp16 = lower_graph(g, Precision::kFp16, options);
    EXPECT_LT(rel_l2(LoweredInterpreter(g, fp16).run(inputs)[0], base), 3e-3);
  }
  std::string missing;
  const auto reference = testing::run_reference(g, inputs, &missing);
  if (!reference) GTEST_SKIP() << "\n\n*** SKIPPED the reference comparison: no reference kernel for " << missing << " yet ***\n";
  EXPECT_LT(rel_l2(base, (*reference)[0]), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Widths, CudaLoweringWidth, ::testing::Values(1, 8));

TEST(CudaLowering, UnsupportedOperatorNamesTheNode) {
  testing::TestGraph t;
  const int x = t.input("x", {1, 4});
  t.output(t.op("Gemm", {x, t.random("w", {4, 4})}, {1, 4}));
  try {
    lower_graph(t.graph, Precision::kFp16, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Gemm 'Gemm_0'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
