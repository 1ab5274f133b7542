// Numerical comparisons shared by the tests: relative L2 error and raw float32 file loading.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace detstream::testing {

inline double relative_l2(const float* actual, const float* expected, std::size_t count) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const double d = static_cast<double>(actual[i]) - expected[i];
    if (std::isnan(actual[i])) return INFINITY;
    diff += d * d;
    norm += static_cast<double>(expected[i]) * expected[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

inline std::vector<float> read_f32_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  std::vector<float> data;
  if (!file) return data;
  const auto bytes = static_cast<std::size_t>(file.tellg());
  data.resize(bytes / sizeof(float));
  file.seekg(0);
  file.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
  return data;
}

}  // namespace detstream::testing
