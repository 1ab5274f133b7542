// The detection head's fusion, checked on the CPU: the matcher on every shared model (heads found,
// with the anchors and strides read from their constants) and on altered graphs (no fusion); the
// lowering (one step instead of the tail, output binding unchanged); and, through the CPU
// interpreter of the lowered program, the fused step's numbers against the per-node lowering and
// the reference backend on a miniature head.
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/head_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "head_fixtures.h"
#include "inference/builder/builder.h"
#include "inference/cuda/lowering.h"
#include "lowered_interpreter.h"
#include "support/shared_data.h"
#include "support/tensor_compare.h"
#include "tests/inference/cuda/cuda_test_support.h"

namespace detstream::inference::cuda {
namespace {

// The model's graph after the builder's passes (what the backends lower), for `batch` images.
Graph passed_graph(const std::string& model, int batch = 1) {
  BuildOptions options;
  options.backend = "ref";
  options.batch = {batch, batch, batch};
  return build_plan_from_onnx(model, options).graph;
}

int output_concat(const Graph& g) {
  for (std::size_t n = 0; n < g.nodes.size(); ++n)
    if (g.nodes[n].outputs[0] == g.outputs[0]) return static_cast<int>(n);
  return -1;
}

int count_kind(const LoweredGraph& l, StepKind kind) {
  return static_cast<int>(std::count_if(l.steps.begin(), l.steps.end(), [&](const Step& s) { return s.kind == kind; }));
}

struct ModelCase {
  const char* model;
  int batch;
  std::int64_t cells;  // of the largest level (80 for 640 input, 40 for 320)
  std::int64_t classes;
  bool cuda_runs = true;  // whether the cuda backend runs the rest of the model
};

class CudaHeadFusionModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(CudaHeadFusionModel, TheHeadIsFoundWithItsGridAndStrides) {
  const ModelCase c = GetParam();
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + c.model);
  const Graph g = passed_graph(model, c.batch);
  std::string why;
  const auto head = match_detect_head(g, output_concat(g), &why);
  ASSERT_TRUE(head.has_value()) << why;
  EXPECT_EQ(find_detect_heads(g).size(), 1u);
  EXPECT_EQ(head->output, g.outputs[0]);
  EXPECT_EQ(head->batch, c.batch);
  EXPECT_EQ(head->classes, c.classes);
  ASSERT_EQ(head->levels.size(), 3u);
  std::int64_t anchors = 0;
  for (std::size_t l = 0; l < 3; ++l) {
    const DetectHeadLevel& level = head->levels[l];
    EXPECT_EQ(level.height, c.cells >> l);
    EXPECT_EQ(level.width, c.cells >> l);
    EXPECT_EQ(level.stride, static_cast<float>(8 << l));
    EXPECT_EQ(g.value(level.box).shape, (Shape{c.batch, 64, level.height, level.width}));
    EXPECT_EQ(g.value(level.cls).shape, (Shape{c.batch, c.classes, level.height, level.width}));
    anchors += level.height * level.width;
  }
  EXPECT_EQ(head->anchors, anchors);
  EXPECT_EQ(head->anchor_offset, 0.5f);
  EXPECT_EQ(head->divisor, 2.0f);
  // The expectation's weights are the DFL conv's, as stored: 0..15 in yolov8n.onnx, but stored
  // quantised in some exports (0.9449 = 120/127 for 1 in yolov8n_320), hence taken from the graph.
  ASSERT_EQ(head->bin_weights.size(), 16u);
  const auto dfl = std::find_if(head->nodes.begin(), head->nodes.end(),
                                [&](int n) { return g.nodes[static_cast<std::size_t>(n)].op_type == "Conv"; });
  ASSERT_NE(dfl, head->nodes.end());
  EXPECT_EQ(head->bin_weights, g.value(g.nodes[static_cast<std::size_t>(*dfl)].inputs[1]).constant->to_float_vector());
  for (std::size_t k = 0; k < 16; ++k) EXPECT_NEAR(head->bin_weights[k], static_cast<float>(k), 0.1f);
  // 6 + 2 level Reshapes/Concats, the DFL (Reshape, Transpose(s), Softmax, Conv, Reshape), 2 Slices,
  // Sub, Add x2, Sub, Div, Concat, Mul, Sigmoid and the output Concat.
  EXPECT_GE(head->nodes.size(), 24u);
  EXPECT_EQ(head->nodes.back(), head->output_node);
}

// The fused lowering: one step in place of the tail, reading the six convolution outputs where
// they are (NHWC in the compute precision), writing the graph output exactly where and how the
// per-node lowering does (packed row-major float32, staged directly).
TEST_P(CudaHeadFusionModel, LoweringReplacesTheTailByOneStepAndKeepsTheOutputBinding) {
  const ModelCase c = GetParam();
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + c.model);
  if (!c.cuda_runs)
    GTEST_SKIP() << "\n\n*** SKIPPED: " << c.model << " has ops the cuda backend does not run (attention MatMul) ***\n";
  const Graph g = passed_graph(model, c.batch);
  for (Precision precision : {Precision::kFp16, Precision::kFp32}) {
    LoweringOptions fused, per_node;
    per_node.fuse_detect_head = false;
    const LoweredGraph a = lower_graph(g, precision, fused);
    const LoweredGraph b = lower_graph(g, precision, per_node);
    ASSERT_EQ(a.heads.size(), 1u);
    EXPECT_TRUE(b.heads.empty());
    EXPECT_EQ(count_kind(a, StepKind::kDetectHead), 1);
    EXPECT_EQ(count_kind(b, StepKind::kDetectHead), 0);
    EXPECT_GE(b.steps.size() - a.steps.size(), 15u) << "the per-node tail takes ~20 launches";
    const std::vector<int>& fused_nodes = a.heads[0].nodes;
    for (const Step& s : a.steps) {
      if (s.kind == StepKind::kDetectHead) {
        EXPECT_EQ(s.inputs.size(), 6u);
        for (const TensorRef& in : s.inputs) {
          EXPECT_EQ(in.dtype, feature_dtype(precision));
          EXPECT_TRUE(is_packed_nhwc(in));
        }
        continue;
      }
      EXPECT_FALSE(std::binary_search(fused_nodes.begin(), fused_nodes.end(), s.node))
          << g.nodes[static_cast<std::size_t>(s.node)].name;
    }
    ASSERT_EQ(a.output_staging.size(), 1u);
    const TensorRef& out = a.output_staging[0];
    const TensorRef& before = b.output_staging[0];
    EXPECT_EQ(out.dtype, before.dtype);
    EXPECT_EQ(out.shape, before.shape);
    EXPECT_EQ(out.strides, before.strides);
    const auto written =
        std::find_if(a.steps.begin(), a.steps.end(), [](const Step& s) { return s.kind == StepKind::kDetectHead; });
    EXPECT_TRUE(same_place(written->output, out)) << "the fused step writes the output staging directly";
    EXPECT_LE(a.arena_bytes, b.arena_bytes);
  }
}

// What `inspect` and `build` print: the tail's nodes name the fused kernel, every other node its
// own; with the fusion switched off (DETSTREAM_CUDA_FUSE_HEAD=0) no node does.
TEST_P(CudaHeadFusionModel, AssignNamesTheFusedKernelForTheTailOnly) {
  const ModelCase c = GetParam();
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + c.model);
  if (!c.cuda_runs)
    GTEST_SKIP() << "\n\n*** SKIPPED: " << c.model << " has ops the cuda backend does not run (attention MatMul) ***\n";
  Graph g = passed_graph(model, c.batch);
  const auto head = match_detect_head(g, output_concat(g));
  ASSERT_TRUE(head.has_value());
  cuda_backend().assign(g, Precision::kFp16);
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    const bool in_tail = std::binary_search(head->nodes.begin(), head->nodes.end(), static_cast<int>(n));
    EXPECT_EQ(g.nodes[n].impl == "cuda.detect_head (fused)", in_tail) << g.nodes[n].name << ": " << g.nodes[n].impl;
  }
  setenv("DETSTREAM_CUDA_FUSE_HEAD", "0", 1);
  cuda_backend().assign(g, Precision::kFp16);
  unsetenv("DETSTREAM_CUDA_FUSE_HEAD");
  for (const Node& node : g.nodes) EXPECT_NE(node.impl, "cuda.detect_head (fused)") << node.name;
}

INSTANTIATE_TEST_SUITE_P(SharedModels, CudaHeadFusionModel,
                         ::testing::Values(ModelCase{"yolov8n.onnx", 1, 80, 80},
                                           ModelCase{"yolov8n_320.onnx", 1, 40, 80},
                                           ModelCase{"yolov8n_4cls_320.onnx", 1, 40, 4},
                                           ModelCase{"yolov8n_dynamic_2cls.onnx", 1, 80, 2},
                                           ModelCase{"yolov8n_dynamic_2cls.onnx", 3, 80, 2},
                                           ModelCase{"yolo11n_320.onnx", 1, 40, 80, false}),
                         [](const auto& info) {
                           std::string name = info.param.model;
                           name = name.substr(0, name.find('.')) + "_batch" + std::to_string(info.param.batch);
                           return name;
                         });

// --- altered graphs: never a wrong fusion -------------------------------------------------------

class CudaHeadFusionAltered : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string model = (detstream::testing::shared_dir() / "models/yolov8n_320.onnx").string();
    if (!std::filesystem::exists(model)) {
      if (detstream::testing::running_in_ci()) FAIL() << "shared data missing under CI: " << model;
      GTEST_SKIP() << "\n\n*** SKIPPED: shared data not found: " << model << " ***\n";
    }
    g_ = passed_graph(model);
    ASSERT_EQ(find_detect_heads(g_).size(), 1u);
  }
  Node& node(const std::string& name) {
    for (Node& n : g_.nodes)
      if (n.name == name) return n;
    throw std::runtime_error("no node " + name);
  }
  // Replaces constant `id` by a copy with values[index] = v.
  void set_constant(int id, std::size_t index, float v) {
    Value& value = g_.value(id);
    std::vector<float> values = value.constant->to_float_vector();
    values[index] = v;
    value.constant = std::make_shared<const Tensor>(Tensor::from_float(values, value.shape));
  }
  // No head is fused; the reason is printed.
  void expect_no_fusion(const char* what) {
    std::string why;
    EXPECT_FALSE(match_detect_head(g_, output_concat(g_), &why).has_value()) << what;
    EXPECT_TRUE(find_detect_heads(g_).empty()) << what;
    EXPECT_EQ(count_kind(lower_graph(g_, Precision::kFp16, {}), StepKind::kDetectHead), 0) << what;
    std::printf("[ head ] %s: not fused (%s)\n", what, why.c_str());
  }
  Graph g_;
};

TEST_F(CudaHeadFusionAltered, AnAnchorOffTheGrid) {
  for (const char* name : {"/model.22/Sub", "/model.22/Add_1"}) {  // both copies of the anchors
    const Node& n = node(name);
    set_constant(n.inputs[g_.value(n.inputs[0]).is_constant() ? 0 : 1], 1700, 3.25f);  // x of a 20x20-level anchor
  }
  expect_no_fusion("one anchor moved");
}

TEST_F(CudaHeadFusionAltered, TheTwoAnchorConstantsDisagree) {
  const Node& add = node("/model.22/Add_1");
  set_constant(add.inputs[0], 2100 + 5, 7.5f);  // y of anchor 5 in the Add's copy only
  expect_no_fusion("anchor constants differ");
}

TEST_F(CudaHeadFusionAltered, AStrideThatChangesInsideALevel) {
  set_constant(node("/model.22/Mul_2").inputs[1], 2099, 16.0f);  // last anchor of the 10x10 level
  expect_no_fusion("stride changes inside a level");
}

TEST_F(CudaHeadFusionAltered, SwappedSubOperands) {
  Node& sub = node("/model.22/Sub");
  std::swap(sub.inputs[0], sub.inputs[1]);  // lt - anchors
  expect_no_fusion("Sub operands swapped");
}

TEST_F(CudaHeadFusionAltered, SoftmaxOverTheSidesInsteadOfTheBins) {
  node("/model.22/dfl/Softmax").attributes["axis"] = Attribute::of_int(2);
  expect_no_fusion("softmax over the sides");
}

TEST_F(CudaHeadFusionAltered, ABiasOnTheDflConvolution) {
  Node& conv = node("/model.22/dfl/conv/Conv");
  conv.inputs.push_back(g_.add_value(
      {"dfl_bias", DataType::kFloat32, {1}, std::make_shared<const Tensor>(Tensor::from_float({0.5f}, {1}))}));
  expect_no_fusion("DFL conv with a bias");
}

TEST_F(CudaHeadFusionAltered, SlicesSwapped) {
  std::swap(node("/model.22/Sub").inputs[1], node("/model.22/Add_1").inputs[1]);  // x1y1 = a - rb, x2y2 = a + lt
  expect_no_fusion("slices swapped");
}

TEST_F(CudaHeadFusionAltered, AnIntermediateIsAGraphOutput) {
  g_.outputs.push_back(node("/model.22/dfl/Softmax").outputs[0]);
  expect_no_fusion("softmax output is a graph output");
}

TEST_F(CudaHeadFusionAltered, AnIntermediateIsReadOutsideTheTail) {
  Node reader;
  reader.name = "extra_reader";
  reader.op_type = "Identity";
  reader.opset = g_.opset;
  reader.inputs = {node("/model.22/Sigmoid").outputs[0]};
  reader.outputs = {g_.add_value({"extra", DataType::kFloat32, g_.value(reader.inputs[0]).shape, nullptr})};
  g_.nodes.push_back(reader);
  g_.outputs.push_back(reader.outputs[0]);
  expect_no_fusion("sigmoid output read by another node");
}

TEST_F(CudaHeadFusionAltered, TheOptionTurnsItOff) {
  LoweringOptions off;
  off.fuse_detect_head = false;
  EXPECT_EQ(count_kind(lower_graph(g_, Precision::kFp16, off), StepKind::kDetectHead), 0);
}

// The mini YOLOv8 of the other tests has one level and no level Concat (and strides that change
// inside that level): lowered node by node.
TEST(CudaHeadFusion, MiniYoloIsLoweredNodeByNode) {
  const Graph g = testing::mini_yolo(1, 8);
  std::string why;
  EXPECT_FALSE(match_detect_head(g, output_concat(g), &why).has_value());
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(count_kind(lower_graph(g, Precision::kFp16, {}), StepKind::kDetectHead), 0);
}

// --- the fused step's numbers (CPU interpreter of the lowered program) ----------------------------

double rel_l2(const Tensor& a, const Tensor& b) {
  return detstream::testing::relative_l2(a.data<float>(), b.data<float>(), static_cast<std::size_t>(b.count()));
}

class CudaHeadFusionMiniHead : public ::testing::TestWithParam<testing::MiniHeadOptions> {};

TEST_P(CudaHeadFusionMiniHead, FusedStepMatchesPerNodeLoweringAndTheReference) {
  const testing::MiniHeadOptions o = GetParam();
  const Graph g = testing::mini_head(o);
  std::string why;
  ASSERT_TRUE(match_detect_head(g, output_concat(g), &why).has_value()) << why;
  const std::vector<Tensor> inputs{testing::random_tensor({o.batch, 3, 16, 20}, 5, 0.0f, 1.0f)};
  LoweringOptions per_node;
  per_node.fuse_detect_head = false;
  const LoweredGraph plain = lower_graph(g, Precision::kFp32, per_node);
  const Tensor expected = testing::LoweredInterpreter(g, plain).run(inputs)[0];
  for (bool nhwc : {true, false}) {
    LoweringOptions fused;
    fused.feature_nhwc = nhwc;
    const LoweredGraph fp32 = lower_graph(g, Precision::kFp32, fused);
    ASSERT_EQ(count_kind(fp32, StepKind::kDetectHead), 1);
    EXPECT_LT(rel_l2(testing::LoweredInterpreter(g, fp32).run(inputs)[0], expected), 1e-6) << "nhwc " << nhwc;
    const LoweredGraph fp16 = lower_graph(g, Precision::kFp16, fused);
    EXPECT_LT(rel_l2(testing::LoweredInterpreter(g, fp16).run(inputs)[0], expected), 3e-3) << "nhwc " << nhwc;
  }
  std::string missing;
  const auto reference = testing::run_reference(g, inputs, &missing);
  if (!reference)
    GTEST_SKIP() << "\n\n*** SKIPPED the reference comparison: no reference kernel for " << missing << " yet ***\n";
  EXPECT_LT(rel_l2(expected, (*reference)[0]), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaHeadFusionMiniHead,
                         ::testing::Values(testing::MiniHeadOptions{1, 3, 16, false},
                                           testing::MiniHeadOptions{3, 19, 16, false},
                                           testing::MiniHeadOptions{2, 5, 16, true},
                                           testing::MiniHeadOptions{1, 1, 7, false}));

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
