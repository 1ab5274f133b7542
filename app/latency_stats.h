// Latency statistics: percentiles and a min/median/mean/p99 summary of timing samples (ms).
// Shared by `detstream bench` and, later, the pipeline's per-stage stats, so it depends on the
// standard library only (no OpenCV, no inference headers). Pure functions, thread-safe.
//
// Percentiles interpolate linearly between the two nearest ranks (NumPy's default "linear"
// method): p of n sorted samples is at fractional index p/100 * (n - 1). The ONNX Runtime peer
// (bench/ort/ort_bench.js) uses the same definition so that the two reports compare like for like.
#pragma once

#include <cstddef>
#include <span>

namespace detstream::app {

struct LatencySummary {
  std::size_t count = 0;
  double min_ms = 0.0;
  double max_ms = 0.0;
  double mean_ms = 0.0;
  double median_ms = 0.0;
  double p90_ms = 0.0;
  double p99_ms = 0.0;
  double stddev_ms = 0.0;  // population standard deviation
};

// `sorted` must be in ascending order and non-empty; `percent` in [0, 100] (clamped).
double percentile_of_sorted(std::span<const double> sorted, double percent);

// Summary of unsorted samples (copied and sorted; not for per-frame hot paths). Empty input gives
// a zero summary with count 0.
LatencySummary summarize_latencies(std::span<const double> samples_ms);

// Images per second when each batch of `batch` images takes `mean_ms`: batch * 1000 / mean_ms.
// 0 when mean_ms is not positive.
double throughput_per_second(int batch, double mean_ms);

}  // namespace detstream::app
