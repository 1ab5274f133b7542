#include "pipeline/stats/latency_histogram.h"

#include <gtest/gtest.h>

namespace detstream::pipeline {
namespace {

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile_ms(50), 0.0);
}

TEST(LatencyHistogram, PercentilesWithinTwoPercent) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.record(i * 0.1);  // 0.1 .. 100 ms, uniform
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_NEAR(h.percentile_ms(50), 50.0, 1.0);
  EXPECT_NEAR(h.percentile_ms(99), 99.0, 2.0);
  EXPECT_NEAR(h.mean_ms(), 50.05, 1e-9);
  EXPECT_DOUBLE_EQ(h.max_ms(), 100.0);
  EXPECT_LE(h.percentile_ms(100), 100.0);
}

TEST(LatencyHistogram, HandlesExtremes) {
  LatencyHistogram h;
  h.record(0.0);
  h.record(1e9);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_LE(h.percentile_ms(50), 1e-3);
  EXPECT_DOUBLE_EQ(h.percentile_ms(100), 1e9);
}

}  // namespace
}  // namespace detstream::pipeline
