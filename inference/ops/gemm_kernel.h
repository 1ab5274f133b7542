// The reference single-precision matrix multiply behind Conv (after im2col), MatMul and Gemm.
// C[M x N] = A[M x K] * B[K x N] (+ C when accumulate), row-major with leading dimensions.
// Blocked for the cache and register-tiled (4 rows x 16 columns) so the compiler vectorises the
// inner loop; accumulates in float like the optimised backends. Uses a per-thread packing buffer
// that only grows, so steady-state calls do not allocate. Thread-safe (no shared state).
#pragma once

#include <cstdint>

namespace detstream::inference::ops {

void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
           std::int64_t ldb, float* c, std::int64_t ldc, bool accumulate);

}  // namespace detstream::inference::ops
