// Resize semantics the node tests cover thinly: Ultralytics' upsample (nearest, asymmetric, floor,
// scales [1, 1, 2, 2]), non-integer ratios, opset 10's implied modes, opset 18 axes, and errors.
#include <gtest/gtest.h>

#include "inference/core/error.h"
#include "op_runner.h"

namespace detstream::inference {
namespace {

using namespace testing_ops;

Attributes ultralytics() {
  return {{"mode", Attribute::of_string("nearest")},
          {"coordinate_transformation_mode", Attribute::of_string("asymmetric")},
          {"nearest_mode", Attribute::of_string("floor")}};
}

TEST(ResizeOp, UltralyticsUpsampleRepeatsEachPixelTwice) {
  const Tensor x = iota({1, 2, 2, 3});
  const auto out = run_op(make_node("Resize", 20, ultralytics(), 3),
                          {in(x), absent(), in(Tensor::from_float({1, 1, 2, 2}, {4}))});
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 4, 6}));
  const float* y = out[0].data<float>();
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 6; ++w) EXPECT_EQ(y[(c * 4 + h) * 6 + w], x.data<float>()[(c * 2 + h / 2) * 3 + w / 2]);
}

TEST(ResizeOp, AsymmetricFloorWithNonIntegerRatio) {
  // 3 -> 5 along the last axis: source = floor(x * 3 / 5) = 0, 0, 1, 1, 2.
  const auto out = run_op(make_node("Resize", 13, ultralytics(), 4),
                          {in(Tensor::from_float({10, 20, 30}, {1, 1, 1, 3})), absent(), absent(), in(ints({1, 1, 1, 5}))});
  EXPECT_EQ(values_of(out[0]), (std::vector<float>{10, 10, 20, 20, 30}));
}

TEST(ResizeOp, NearestModesRoundHalfwayPointsDifferently) {
  // half_pixel, 2 -> 4: source coordinates -0.25, 0.25, 0.75, 1.25.
  const Tensor x = Tensor::from_float({1, 2}, {1, 2});
  const auto run = [&](const char* mode) {
    Attributes a{{"mode", Attribute::of_string("nearest")}, {"nearest_mode", Attribute::of_string(mode)}};
    return values_of(run_op(make_node("Resize", 13, a, 3), {in(x), absent(), in(Tensor::from_float({1, 2}, {2}))})[0]);
  };
  EXPECT_EQ(run("round_prefer_floor"), (std::vector<float>{1, 1, 2, 2}));
  EXPECT_EQ(run("floor"), (std::vector<float>{1, 1, 1, 2}));
  EXPECT_EQ(run("ceil"), (std::vector<float>{1, 2, 2, 2}));
}

TEST(ResizeOp, Opset10IsAsymmetricFloor) {
  const Tensor x = Tensor::from_float({10, 20, 30}, {1, 3});
  const auto out = run_op(make_node("Resize", 10, {{"mode", Attribute::of_string("nearest")}}, 2),
                          {in(x), in(Tensor::from_float({1, 1.7f}, {2}))});
  EXPECT_EQ(values_of(out[0]), (std::vector<float>{10, 10, 20, 20, 30}));
}

TEST(ResizeOp, LinearHalfPixelMatchesHandComputedValues) {
  // 2 -> 4, half_pixel: coordinates -0.25 (clamped edge), 0.25, 0.75, 1.25 (edge).
  const auto out = run_op(make_node("Resize", 13, {{"mode", Attribute::of_string("linear")}}, 3),
                          {in(Tensor::from_float({0, 8}, {1, 2})), absent(), in(Tensor::from_float({1, 2}, {2}))});
  const std::vector<float> y = values_of(out[0]);
  ASSERT_EQ(y.size(), 4u);
  EXPECT_FLOAT_EQ(y[0], 0);
  EXPECT_FLOAT_EQ(y[1], 2);
  EXPECT_FLOAT_EQ(y[2], 6);
  EXPECT_FLOAT_EQ(y[3], 8);
}

TEST(ResizeOp, Opset18AxesResizeOnlyTheNamedAxes) {
  Attributes a = ultralytics();
  a["axes"] = Attribute::of_ints({-1});
  const auto out = run_op(make_node("Resize", 18, a, 4), {in(iota({2, 3})), absent(), absent(), in(ints({6}))});
  ASSERT_EQ(out[0].shape(), (Shape{2, 6}));
  EXPECT_EQ(values_of(out[0]), (std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
}

TEST(ResizeOp, RejectsBadOperandsNamingThem) {
  const Tensor x = iota({1, 1, 2, 2});
  try {
    run_op(make_node("Resize", 13, {}, 3), {in(x), absent(), in(Tensor::from_float({1, 2}, {2}))});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'scales' has 2 values for 4 axes"), std::string::npos) << e.what();
  }
  try {
    run_op(make_node("Resize", 13, {}, 3), {in(x), absent(), runtime(Tensor::from_float({1, 1, 2, 2}, {4}))});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Resize 'test_Resize' (opset 13): its scales input must be known at build time"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(run_op(make_node("Resize", 13, {{"mode", Attribute::of_string("bicubic")}}, 3),
                      {in(x), absent(), in(Tensor::from_float({1, 1, 2, 2}, {4}))}),
               Error);
}

}  // namespace
}  // namespace detstream::inference
