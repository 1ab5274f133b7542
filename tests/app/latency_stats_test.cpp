// Percentiles interpolate linearly between ranks (NumPy's default); the summary of unsorted
// samples; throughput from batch and mean latency.
#include "app/latency_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace detstream::app {
namespace {

TEST(LatencyStatsTest, PercentilesInterpolateBetweenRanks) {
  const std::vector<double> sorted = {1.0, 2.0, 3.0, 4.0, 5.0};
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 50.0), 3.0);
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 100.0), 5.0);
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 99.0), 4.96);  // index 3.96
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 10.0), 1.4);   // index 0.4
}

TEST(LatencyStatsTest, EvenCountMedianIsTheMidpoint) {
  const std::vector<double> sorted = {2.0, 4.0, 10.0, 20.0};
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 50.0), 7.0);
}

TEST(LatencyStatsTest, OutOfRangePercentsAreClamped) {
  const std::vector<double> sorted = {3.0, 8.0};
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, -5.0), 3.0);
  EXPECT_DOUBLE_EQ(percentile_of_sorted(sorted, 150.0), 8.0);
}

TEST(LatencyStatsTest, SummarySortsItsOwnCopy) {
  const std::vector<double> samples = {9.0, 1.0, 5.0, 3.0, 7.0};
  const LatencySummary s = summarize_latencies(samples);
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 9.0);
  EXPECT_DOUBLE_EQ(s.mean_ms, 5.0);
  EXPECT_DOUBLE_EQ(s.median_ms, 5.0);
  EXPECT_DOUBLE_EQ(s.p90_ms, 8.2);   // index 3.6 of 1,3,5,7,9
  EXPECT_DOUBLE_EQ(s.p99_ms, 8.92);  // index 3.96
  EXPECT_DOUBLE_EQ(s.stddev_ms, std::sqrt(8.0));
  EXPECT_EQ(samples.front(), 9.0) << "the input must not be reordered";
}

TEST(LatencyStatsTest, SingleSampleIsEveryStatistic) {
  const std::vector<double> samples = {2.5};
  const LatencySummary s = summarize_latencies(samples);
  EXPECT_EQ(s.count, 1u);
  EXPECT_DOUBLE_EQ(s.min_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.median_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.p99_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.stddev_ms, 0.0);
}

TEST(LatencyStatsTest, NoSamplesGiveAnEmptySummary) {
  const LatencySummary s = summarize_latencies({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 0.0);
  EXPECT_DOUBLE_EQ(percentile_of_sorted({}, 50.0), 0.0);
}

TEST(LatencyStatsTest, ThroughputIsBatchImagesPerMeanLatency) {
  EXPECT_DOUBLE_EQ(throughput_per_second(1, 20.0), 50.0);
  EXPECT_DOUBLE_EQ(throughput_per_second(4, 20.0), 200.0);
  EXPECT_DOUBLE_EQ(throughput_per_second(1, 0.0), 0.0);
}

}  // namespace
}  // namespace detstream::app
