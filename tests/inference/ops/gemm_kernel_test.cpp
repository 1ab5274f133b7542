// The blocked sgemm against a naive triple loop, on sizes that exercise every edge: partial row
// tiles, partial column panels, K longer than one depth block, accumulate, leading dimensions.
#include "inference/ops/gemm_kernel.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace detstream::inference {
namespace {

struct Dims {
  std::int64_t m, n, k;
};

class SgemmAgainstNaive : public ::testing::TestWithParam<Dims> {};

TEST_P(SgemmAgainstNaive, Matches) {
  const Dims d = GetParam();
  const std::int64_t lda = d.k + 3, ldb = d.n + 5, ldc = d.n + 2;  // padded rows
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(d.m * lda)), b(static_cast<std::size_t>(d.k * ldb));
  std::vector<float> c(static_cast<std::size_t>(d.m * ldc));
  for (float& v : a) v = dist(gen);
  for (float& v : b) v = dist(gen);
  for (float& v : c) v = dist(gen);
  const std::vector<float> c0 = c;
  for (bool accumulate : {false, true}) {
    c = c0;
    ops::sgemm(d.m, d.n, d.k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
    for (std::int64_t i = 0; i < d.m; ++i)
      for (std::int64_t j = 0; j < ldc; ++j) {
        const std::size_t at = static_cast<std::size_t>(i * ldc + j);
        if (j >= d.n) {
          ASSERT_EQ(c[at], c0[at]) << "wrote past column " << d.n;
          continue;
        }
        double expected = accumulate ? c0[at] : 0.0;
        for (std::int64_t p = 0; p < d.k; ++p) expected += static_cast<double>(a[i * lda + p]) * b[p * ldb + j];
        ASSERT_NEAR(c[at], expected, 1e-4 * (1.0 + std::abs(expected))) << i << "," << j << " accumulate " << accumulate;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(EdgeSizes, SgemmAgainstNaive,
                         ::testing::Values(Dims{1, 1, 1}, Dims{3, 5, 7}, Dims{4, 16, 8}, Dims{7, 33, 19}, Dims{13, 17, 300},
                                           Dims{5, 40, 513}, Dims{9, 2, 1}, Dims{2, 3, 0}));

}  // namespace
}  // namespace detstream::inference
