// Resize lowering: Ultralytics' nearest x2 (asymmetric, floor) and other integer factors run on
// oneDNN and match the reference; modes oneDNN would compute differently stay reference.
#include <gtest/gtest.h>

#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Graph resize_graph(std::vector<float> scales, const std::string& transform, const std::string& rounding,
                   const std::string& mode = "nearest") {
  TestGraph g;
  const int x = g.input("x", {1, 13, 9, 7});
  const int y = g.conv(x, 13, 13, 1);
  const int roi = g.floats("roi", {}, {0});
  const int s = g.floats("scales", scales, {4});
  g.output(g.op("Resize", {y, roi, s}, {{"mode", Attribute::of_string(mode)},
                                        {"coordinate_transformation_mode", Attribute::of_string(transform)},
                                        {"nearest_mode", Attribute::of_string(rounding)}}));
  return g.graph;
}

TEST(ResizeLowering, UltralyticsNearestTimesTwoRunsOnOneDnn) {
  const Graph graph = resize_graph({1, 1, 2, 2}, "asymmetric", "floor");
  EXPECT_EQ(count_impl(build(graph, "cpu"), "cpu.dnnl", "Resize"), 1);
  EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
}

TEST(ResizeLowering, OtherIntegerFactorsAndHalfPixelMatchReference) {
  for (const Graph& graph : {resize_graph({1, 1, 3, 2}, "asymmetric", "floor"),
                             resize_graph({1, 1, 2, 3}, "half_pixel", "round_prefer_floor"),
                             resize_graph({1, 1, 4, 4}, "half_pixel", "round_prefer_ceil")}) {
    EXPECT_EQ(count_impl(build(graph, "cpu"), "cpu.dnnl", "Resize"), 1);
    EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
  }
}

TEST(ResizeLowering, ModesOneDnnComputesDifferentlyStayReference) {
  for (const Graph& graph : {resize_graph({1, 1, 2, 2}, "asymmetric", "round_prefer_floor"),
                             resize_graph({1, 1, 1.5f, 1.5f}, "asymmetric", "floor"),
                             resize_graph({1, 1, 2, 2}, "asymmetric", "floor", "linear")}) {
    EXPECT_EQ(count_impl(build(graph, "cpu"), "cpu.ref", "Resize"), 1);
    EXPECT_LE(cpu_vs_reference(graph), kFp32Tolerance);
  }
}

TEST(ResizeLowering, Bf16MatchesReference) {
  DETSTREAM_REQUIRE_BF16();
  EXPECT_LE(cpu_vs_reference(resize_graph({1, 1, 2, 2}, "asymmetric", "floor"), Precision::kBf16), kBf16Tolerance);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
