#include "postprocess/nms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace detstream::postprocess {
namespace {

std::vector<NmsCandidate> run(std::vector<NmsCandidate> candidates, const NmsOptions& options) {
  for (std::size_t i = 0; i < candidates.size(); ++i) candidates[i].order = static_cast<int>(i);
  std::vector<std::uint8_t> scratch(candidates.size());
  sort_candidates(candidates);
  const std::size_t kept = nms_sorted(candidates, options, scratch);
  candidates.resize(kept);
  return candidates;
}

NmsCandidate make(float x1, float y1, float x2, float y2, float score, int cls = 0) {
  return {{x1, y1, x2, y2}, score, cls, 0};
}

TEST(Nms, SuppressesOverlapsWithinAClassOnly) {
  NmsOptions options;
  options.iou_threshold = 0.5f;
  const auto kept = run({make(0, 0, 10, 10, 0.9f, 0), make(1, 0, 11, 10, 0.8f, 0), make(1, 0, 11, 10, 0.7f, 3)},
                        options);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_EQ(kept[1].class_id, 3);  // same box, other class: survives
}

TEST(Nms, ClassAgnosticSuppressesAcrossClasses) {
  NmsOptions options;
  options.iou_threshold = 0.5f;
  options.class_agnostic = true;
  const auto kept = run({make(0, 0, 10, 10, 0.9f, 0), make(1, 0, 11, 10, 0.7f, 3)}, options);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].class_id, 0);
}

TEST(Nms, IouEqualToThresholdIsKeptAboveIsRemoved) {
  // [0,10]x[0,10] vs [5,15]x[0,10]: inter 50, union 150 -> IoU exactly 1/3 in float32 as computed.
  const float iou = 50.0f / (100.0f + 100.0f - 50.0f);
  NmsOptions options;
  options.iou_threshold = iou;
  EXPECT_EQ(run({make(0, 0, 10, 10, 0.9f), make(5, 0, 15, 10, 0.8f)}, options).size(), 2u);
  options.iou_threshold = std::nextafter(iou, 0.0f);
  EXPECT_EQ(run({make(0, 0, 10, 10, 0.9f), make(5, 0, 15, 10, 0.8f)}, options).size(), 1u);
}

TEST(Nms, KeepsInScoreOrderAndSuppressedBoxesDoNotSuppress) {
  // A (0.9) suppresses B (0.8); B would have suppressed C (0.7), but a suppressed box has no say.
  NmsOptions options;
  options.iou_threshold = 0.5f;
  const auto kept = run({make(14, 0, 24, 10, 0.7f), make(0, 0, 10, 10, 0.9f), make(7, 0, 17, 10, 0.6f),
                         make(2, 0, 12, 10, 0.8f)},
                        options);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_FLOAT_EQ(kept[0].score, 0.9f);
  EXPECT_FLOAT_EQ(kept[1].score, 0.7f);
  EXPECT_FLOAT_EQ(kept[2].score, 0.6f);
}

TEST(Nms, MaxKeepCapsTheResultToTheBest) {
  std::vector<NmsCandidate> many;
  for (int i = 0; i < 400; ++i) many.push_back(make(20.0f * i, 0, 20.0f * i + 10, 10, 0.001f * i));
  NmsOptions options;
  options.max_keep = 300;
  const auto kept = run(many, options);
  ASSERT_EQ(kept.size(), 300u);
  EXPECT_FLOAT_EQ(kept.front().score, 0.399f);
  EXPECT_FLOAT_EQ(kept.back().score, 0.100f);
}

TEST(Nms, EqualScoresKeepInputOrder) {
  NmsOptions options;
  options.iou_threshold = 0.5f;
  const auto kept = run({make(0, 0, 10, 10, 0.5f), make(1, 0, 11, 10, 0.5f)}, options);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].order, 0);
}

TEST(Nms, EmptyInputKeepsNothing) {
  EXPECT_TRUE(run({}, NmsOptions{}).empty());
}

}  // namespace
}  // namespace detstream::postprocess
