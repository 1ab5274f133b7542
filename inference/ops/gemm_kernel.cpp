#include "inference/ops/gemm_kernel.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace detstream::inference::ops {

namespace {

constexpr std::int64_t kRows = 4;      // micro-tile rows (of A and C)
constexpr std::int64_t kCols = 16;     // micro-tile columns (of B and C)
constexpr std::int64_t kDepth = 256;   // K block: a packed B panel of kDepth x kCols stays in L1

// Copies B[k0:k0+kc, j0:j0+nc] into a zero-padded kc x kCols panel so the micro-kernel reads
// contiguous memory whatever ldb is.
void pack_panel(const float* b, std::int64_t ldb, std::int64_t kc, std::int64_t nc, float* panel) {
  for (std::int64_t p = 0; p < kc; ++p) {
    const float* src = b + p * ldb;
    float* dst = panel + p * kCols;
    std::int64_t j = 0;
    for (; j < nc; ++j) dst[j] = src[j];
    for (; j < kCols; ++j) dst[j] = 0.0f;
  }
}

// acc[r][c] = sum_p a[r][p] * panel[p][c] for up to kRows rows (missing rows repeat the last one
// and are not stored), then C += acc or C = acc.
void micro_kernel(const float* a, std::int64_t lda, std::int64_t rows, const float* panel, std::int64_t kc, float* c,
                  std::int64_t ldc, std::int64_t cols, bool accumulate) {
  const float* a_row[kRows];
  for (std::int64_t r = 0; r < kRows; ++r) a_row[r] = a + std::min(r, rows - 1) * lda;
  float acc[kRows][kCols] = {};
  for (std::int64_t p = 0; p < kc; ++p) {
    const float* bp = panel + p * kCols;
    for (std::int64_t r = 0; r < kRows; ++r) {
      const float av = a_row[r][p];
      for (std::int64_t j = 0; j < kCols; ++j) acc[r][j] += av * bp[j];
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      for (std::int64_t j = 0; j < cols; ++j) cr[j] += acc[r][j];
    } else {
      for (std::int64_t j = 0; j < cols; ++j) cr[j] = acc[r][j];
    }
  }
}

}  // namespace

void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
           std::int64_t ldb, float* c, std::int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return;
  }
  thread_local std::vector<float> panel;
  if (panel.size() < static_cast<std::size_t>(kDepth * kCols)) panel.resize(kDepth * kCols);
  for (std::int64_t j0 = 0; j0 < n; j0 += kCols) {
    const std::int64_t nc = std::min(kCols, n - j0);
    for (std::int64_t p0 = 0; p0 < k; p0 += kDepth) {
      const std::int64_t kc = std::min(kDepth, k - p0);
      pack_panel(b + p0 * ldb + j0, ldb, kc, nc, panel.data());
      const bool add = accumulate || p0 > 0;
      for (std::int64_t i0 = 0; i0 < m; i0 += kRows) {
        micro_kernel(a + i0 * lda + p0, lda, std::min(kRows, m - i0), panel.data(), kc, c + i0 * ldc + j0, ldc, nc, add);
      }
    }
  }
}

}  // namespace detstream::inference::ops
