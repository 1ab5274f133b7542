// GPU pre- and post-processing against plain CPU references: the letterbox (Ultralytics LetterBox
// with OpenCV-style INTER_LINEAR, pad 114, BGR -> RGB, / 255) on frames that shrink, grow, keep
// their size or halve exactly, in every output layout and type, from device and host frames; and
// the decode + confidence filter (best class with ties to the lowest id, strict threshold, boxes,
// capacity overflow). GPU tests skip without a GPU; the argument checks run everywhere.
#ifdef DETSTREAM_WITH_CUDA
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "inference/core/error.h"
#include "inference/cuda/detection_filter.h"
#include "inference/cuda/letterbox.h"
#include "tests/inference/cuda/cuda_test_support.h"
#include "tests/inference/cuda/letterbox_reference.h"

namespace detstream::inference::cuda {
namespace {

float half_to_float_bits(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  std::uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal
      float v = std::ldexp(static_cast<float>(mantissa), -24);
      return sign ? -v : v;
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct DeviceBytes {
  void* p = nullptr;
  explicit DeviceBytes(std::size_t bytes) { EXPECT_EQ(cudaMalloc(&p, bytes), cudaSuccess); }
  ~DeviceBytes() { cudaFree(p); }
};

// The GPU result as NCHW float32, whatever layout and type it was written in.
std::vector<float> read_back(const DeviceBytes& out, int tw, int th, ImageLayout layout, bool fp16) {
  const std::size_t count = 3u * tw * th;
  std::vector<float> values(count);
  if (fp16) {
    std::vector<std::uint16_t> halves(count);
    EXPECT_EQ(cudaMemcpy(halves.data(), out.p, count * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    for (std::size_t i = 0; i < count; ++i) values[i] = half_to_float_bits(halves[i]);
  } else {
    EXPECT_EQ(cudaMemcpy(values.data(), out.p, count * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  }
  if (layout == ImageLayout::kNchw) return values;
  std::vector<float> nchw(count);
  for (int c = 0; c < 3; ++c)
    for (std::size_t p = 0; p < static_cast<std::size_t>(tw) * th; ++p) nchw[c * tw * th + p] = values[p * 3 + c];
  return nchw;
}

TEST(CudaLetterbox, RefusesAPlacementOutsideTheTargetWithoutTouchingTheGpu) {
  const std::uint8_t byte = 0;
  LetterboxFrame frame{&byte, 10, 10, 30};
  LetterboxTarget target;
  target.width = 64;
  target.height = 64;
  EXPECT_THROW(launch_letterbox(frame, {64, 40, 1, 0}, target, nullptr), Error);
  EXPECT_THROW(launch_letterbox({&byte, 10, 10, 20}, {64, 64, 0, 0}, target, nullptr), Error);  // row < 3 * width
  DetectionFilterArgs args;
  EXPECT_THROW(launch_detection_filter(args, nullptr), Error);
}

TEST(CudaLetterbox, MatchesTheCpuLetterboxInEveryLayoutAndType) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  struct Case {
    int w, h, tw, th;
  };
  // Shrink (odd sizes), grow, same size, exact halving, a wide frame into a non-square target.
  const std::vector<Case> cases{{810, 1080, 640, 640}, {333, 517, 640, 640}, {200, 150, 640, 640},
                                {640, 640, 640, 640},  {1280, 720, 640, 640}, {1920, 1080, 320, 256}};
  for (const Case& k : cases) {
    const std::vector<std::uint8_t> frame = random_frame(k.w, k.h, static_cast<unsigned>(k.w * 7 + k.h));
    const Geometry g = letterbox_geometry(k.w, k.h, k.tw, k.th);
    const std::vector<float> expected = cpu_letterbox(frame, k.w, k.h, g, k.tw, k.th);
    DeviceBytes device_frame(frame.size()), out(3u * k.tw * k.th * 4);
    ASSERT_EQ(cudaMemcpy(device_frame.p, frame.data(), frame.size(), cudaMemcpyHostToDevice), cudaSuccess);
    HostFrameLetterbox from_host;
    for (ImageLayout layout : {ImageLayout::kNchw, ImageLayout::kNhwc})
      for (bool fp16 : {false, true})
        for (bool host : {false, true}) {
          ASSERT_EQ(cudaMemset(out.p, 0xFF, 3u * k.tw * k.th * 4), cudaSuccess);  // NaN: unwritten values show
          LetterboxTarget target{out.p, k.tw, k.th, layout, fp16};
          const LetterboxPlacement placement{g.resized_w, g.resized_h, g.left, g.top};
          const std::size_t row = static_cast<std::size_t>(k.w) * 3;
          if (host) {
            from_host.run({frame.data(), k.w, k.h, row}, placement, target, nullptr);
          } else {
            launch_letterbox({static_cast<const std::uint8_t*>(device_frame.p), k.w, k.h, row}, placement, target, nullptr);
          }
          ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
          const std::vector<float> got = read_back(out, k.tw, k.th, layout, fp16);
          double worst = 0.0, sum = 0.0;
          for (std::size_t i = 0; i < got.size(); ++i) {
            const double d = std::fabs(static_cast<double>(got[i]) - expected[i]);
            worst = std::isnan(d) ? 1e9 : std::max(worst, d);
            sum += d;
          }
          const std::string where = std::to_string(k.w) + "x" + std::to_string(k.h) + " -> " + std::to_string(k.tw) + "x" +
                                    std::to_string(k.th) + (layout == ImageLayout::kNchw ? " NCHW" : " NHWC") +
                                    (fp16 ? " fp16" : " fp32") + (host ? " host frame" : " device frame");
          EXPECT_LE(worst, 2.0 / 255.0) << where;
          EXPECT_LE(sum / static_cast<double>(got.size()), 0.5 / 255.0) << where;
          if (&k == &cases.front() && layout == ImageLayout::kNchw && !fp16 && !host) {
            std::printf("[ cuda ] letterbox %s: max |diff| %.3g (x255: %.2f), mean %.3g\n", where.c_str(), worst, worst * 255,
                        sum / static_cast<double>(got.size()));
          }
        }
  }
}

TEST(CudaDetectionFilter, KeepsExactlyTheCpuCandidatesWithTheirBoxesAndClasses) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  const int batch = 2, classes = 80, anchors = 8400;
  const float threshold = 0.25f;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> background(0.0f, 0.2f), object(0.2f, 0.6f), coord(0.0f, 640.0f);
  std::uniform_int_distribution<int> any_class(0, classes - 1);
  std::vector<float> predictions(static_cast<std::size_t>(batch) * (4 + classes) * anchors);
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const std::size_t row = i / anchors % (4 + classes);
    predictions[i] = row < 4 ? coord(rng) : background(rng);
  }
  // Ties: anchor 7 of image 0 has classes 3 and 9 equal at the top (class 3 must win); anchor 8
  // sits exactly at the threshold (must be dropped: strictly greater).
  auto at = [&](int image, int row, int anchor) -> float& {
    return predictions[(static_cast<std::size_t>(image) * (4 + classes) + row) * anchors + anchor];
  };
  // Every 16th anchor holds an object of a random class (about 460 candidates an image).
  for (int b = 0; b < batch; ++b)
    for (int a = 0; a < anchors; a += 16) at(b, 4 + any_class(rng), a) = object(rng);
  for (int c = 0; c < classes; ++c) at(0, 4 + c, 7) = at(0, 4 + c, 8) = 0.1f;
  at(0, 4 + 3, 7) = at(0, 4 + 9, 7) = 0.9f;
  at(0, 4 + 5, 8) = threshold;

  struct Expected {
    int anchor, class_id;
    float score;
  };
  std::vector<std::vector<Expected>> expected(batch);
  for (int b = 0; b < batch; ++b)
    for (int a = 0; a < anchors; ++a) {
      int best_class = 0;
      for (int c = 1; c < classes; ++c) best_class = at(b, 4 + c, a) > at(b, 4 + best_class, a) ? c : best_class;
      if (at(b, 4 + best_class, a) > threshold) expected[static_cast<std::size_t>(b)].push_back({a, best_class, at(b, 4 + best_class, a)});
    }
  ASSERT_GT(expected[0].size(), 50u);
  ASSERT_LT(expected[0].size(), 4096u) << "the capacity below must hold every candidate";
  auto kept = [&](int anchor) {
    return std::find_if(expected[0].begin(), expected[0].end(), [&](const Expected& e) { return e.anchor == anchor; });
  };
  ASSERT_NE(kept(7), expected[0].end());
  ASSERT_EQ(kept(7)->class_id, 3);  // the tie goes to the lowest class id
  ASSERT_EQ(kept(8), expected[0].end());  // a score equal to the threshold is not above it

  const int capacity = 4096;
  DeviceBytes device_predictions(predictions.size() * 4), candidates(sizeof(DetectionCandidate) * capacity * batch),
      counts(sizeof(unsigned) * batch);
  ASSERT_EQ(cudaMemcpy(device_predictions.p, predictions.data(), predictions.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  DetectionFilterArgs args;
  args.predictions = static_cast<const float*>(device_predictions.p);
  args.batch = batch;
  args.classes = classes;
  args.anchors = anchors;
  args.conf_threshold = threshold;
  args.candidates = static_cast<DetectionCandidate*>(candidates.p);
  args.counts = static_cast<unsigned*>(counts.p);
  args.capacity = capacity;
  for (int round = 0; round < 2; ++round) {  // the second run must not accumulate onto the first's counts
    launch_detection_filter(args, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  std::vector<unsigned> got_counts(batch);
  std::vector<DetectionCandidate> got(static_cast<std::size_t>(capacity) * batch);
  ASSERT_EQ(cudaMemcpy(got_counts.data(), counts.p, sizeof(unsigned) * batch, cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(got.data(), candidates.p, got.size() * sizeof(DetectionCandidate), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int b = 0; b < batch; ++b) {
    const auto& want = expected[static_cast<std::size_t>(b)];
    ASSERT_EQ(got_counts[static_cast<std::size_t>(b)], want.size()) << "image " << b;
    std::vector<DetectionCandidate> mine(got.begin() + static_cast<std::ptrdiff_t>(b) * capacity,
                                         got.begin() + static_cast<std::ptrdiff_t>(b) * capacity + static_cast<std::ptrdiff_t>(want.size()));
    std::sort(mine.begin(), mine.end(), [](const auto& l, const auto& r) { return l.anchor < r.anchor; });
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(mine[i].anchor, want[i].anchor);
      EXPECT_EQ(mine[i].class_id, want[i].class_id) << "anchor " << want[i].anchor;
      EXPECT_EQ(mine[i].score, want[i].score);
      const int a = want[i].anchor;
      EXPECT_FLOAT_EQ(mine[i].x1, at(b, 0, a) - at(b, 2, a) / 2.0f);
      EXPECT_FLOAT_EQ(mine[i].y1, at(b, 1, a) - at(b, 3, a) / 2.0f);
      EXPECT_FLOAT_EQ(mine[i].x2, at(b, 0, a) + at(b, 2, a) / 2.0f);
      EXPECT_FLOAT_EQ(mine[i].y2, at(b, 1, a) + at(b, 3, a) / 2.0f);
    }
  }

  // Overflow: the count reports every candidate, only `capacity` are written.
  args.capacity = 10;
  launch_detection_filter(args, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(got_counts.data(), counts.p, sizeof(unsigned) * batch, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(got_counts[0], expected[0].size());
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
