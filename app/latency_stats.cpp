#include "app/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace detstream::app {

double percentile_of_sorted(std::span<const double> sorted, double percent) {
  if (sorted.empty()) return 0.0;
  const double clamped = std::clamp(percent, 0.0, 100.0);
  const double rank = clamped / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(rank));
  const std::size_t upper = std::min(lower + 1, sorted.size() - 1);
  const double fraction = rank - static_cast<double>(lower);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
}

LatencySummary summarize_latencies(std::span<const double> samples_ms) {
  LatencySummary summary;
  if (samples_ms.empty()) return summary;
  std::vector<double> sorted(samples_ms.begin(), samples_ms.end());
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / n;
  double squares = 0.0;
  for (double v : sorted) squares += (v - mean) * (v - mean);

  summary.count = sorted.size();
  summary.min_ms = sorted.front();
  summary.max_ms = sorted.back();
  summary.mean_ms = mean;
  summary.median_ms = percentile_of_sorted(sorted, 50.0);
  summary.p90_ms = percentile_of_sorted(sorted, 90.0);
  summary.p99_ms = percentile_of_sorted(sorted, 99.0);
  summary.stddev_ms = std::sqrt(squares / n);
  return summary;
}

double throughput_per_second(int batch, double mean_ms) {
  if (mean_ms <= 0.0) return 0.0;
  return static_cast<double>(batch) * 1000.0 / mean_ms;
}

}  // namespace detstream::app
