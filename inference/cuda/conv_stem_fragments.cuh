// The tensor-core form of the 3-channel 3x3 stem shared by conv_stem_mma.cu and
// conv_stem_pair.cu: an output pixel's 27-value window is the depth of one 16 x 32 x 8*NF MMA
// (two k16 steps; depths 27..31 have zero weights), read as fp32 from input rows staged in
// shared memory (channel-major: row (c * rows + r), `pitch` floats apart) and rounded to fp16.
// Internal to inference/cuda/.
#pragma once

#include "inference/cuda/conv_mma.cuh"

namespace detstream::inference::cuda {

// The stem's weights as B fragments for K = 8 * NF output channels, and where each depth this
// lane supplies sits in the staged rows relative to a pixel's base (its window's top-left value):
// m16n8k16 A register j of k-step ks holds pixel lane/4 + 8*(j%2) at depths
// ks*16 + 8*(j/2) + 2*(lane%4) + {0, 1}; B register `upper` holds channel lane/4 at the same.
template <int NF>
struct StemFragments {
  static constexpr int kWindow = 27;
  unsigned b[2][NF][2];
  int offset[2][2][2];  // [ks][upper][element]

  // `w` is K x 3 x 3 x 3 fp32; `rows` staged rows per channel, `pitch` floats per row.
  __device__ StemFragments(const float* w, int rows, int pitch) {
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int ks = 0; ks < 2; ++ks)
#pragma unroll
      for (int upper = 0; upper < 2; ++upper) {
        const int k0 = ks * 16 + upper * 8 + (lane % 4) * 2;
#pragma unroll
        for (int nf = 0; nf < NF; ++nf) {
          const int n = nf * 8 + lane / 4;
          const __half2 pair = __floats2half2_rn(k0 < kWindow ? w[n * kWindow + k0] : 0.0f, k0 + 1 < kWindow ? w[n * kWindow + k0 + 1] : 0.0f);
          b[ks][nf][upper] = *reinterpret_cast<const unsigned*>(&pair);
        }
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int k = k0 + e, c = k / 9, r = k / 3 % 3, s = k % 3;
          offset[ks][upper][e] = k < kWindow ? (c * rows + r) * pitch + s : 0;  // past the window: any value, zero weight
        }
      }
  }

  // acc += the window products of the 16 pixels whose bases are base[0] (rows lane/4) and
  // base[1] (rows lane/4 + 8).
  __device__ __forceinline__ void multiply(float (&acc)[NF][4], const float* staged, const int (&base)[2]) const {
#pragma unroll
    for (int ks = 0; ks < 2; ++ks) {
      unsigned a[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int h = r % 2, upper = r / 2;
        const __half2 pair = __floats2half2_rn(staged[base[h] + offset[ks][upper][0]], staged[base[h] + offset[ks][upper][1]]);
        a[r] = *reinterpret_cast<const unsigned*>(&pair);
      }
#pragma unroll
      for (int nf = 0; nf < NF; ++nf) mma_16816(acc[nf], a, b[ks][nf][0], b[ks][nf][1]);
    }
  }
};

}  // namespace detstream::inference::cuda
