// LatencyHistogram: constant-memory latency recorder for long runs (a 10,000-frame soak must not
// grow memory). Log-spaced buckets 2% wide from 1 us to ~20 min give percentiles within 2%.
// record() is allocation-free. Not synchronised: one writer; read after the writer stopped, or
// guard externally.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace detstream::pipeline {

class LatencyHistogram {
 public:
  void record(double ms) {
    ++count_;
    sum_ms_ += ms;
    if (ms > max_ms_) max_ms_ = ms;
    ++buckets_[bucket_of(ms)];
  }

  std::uint64_t count() const { return count_; }
  double mean_ms() const { return count_ ? sum_ms_ / static_cast<double>(count_) : 0.0; }
  double max_ms() const { return max_ms_; }

  // The upper edge of the bucket holding the p-th percentile (p in [0, 100]); 0 when empty.
  double percentile_ms(double p) const {
    if (count_ == 0) return 0.0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank && seen > 0) return i + 1 == buckets_.size() ? max_ms_ : std::min(upper_edge(i), max_ms_);
    }
    return max_ms_;
  }

 private:
  static constexpr double kMinMs = 1e-3;
  static constexpr double kGrowth = 1.02;
  static constexpr std::size_t kBuckets = 1024;

  static std::size_t bucket_of(double ms) {
    if (!(ms > kMinMs)) return 0;
    const double index = std::log(ms / kMinMs) / std::log(kGrowth);
    return index >= kBuckets - 1 ? kBuckets - 1 : static_cast<std::size_t>(index) + 1;
  }
  static double upper_edge(std::size_t bucket) { return kMinMs * std::pow(kGrowth, static_cast<double>(bucket)); }

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  double sum_ms_ = 0.0;
  double max_ms_ = 0.0;
};

}  // namespace detstream::pipeline
