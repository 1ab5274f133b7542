// The CTA-level pieces of the halo-tile 3x3 convolution (conv_halo.cu), shared with the fused
// stem pair (conv_stem_pair.cu): the shared-memory layout of an input window with its halo and
// of the nine taps' weights, and what a CTA does with one output patch (stage the window and the
// weights, multiply the nine taps on tensor cores, store the epilogue). Internal to inference/cuda/.
#pragma once

#include "inference/cuda/conv_mma.cuh"

namespace detstream::inference::cuda {

// Warps of a CTA: one per warp tile.
__host__ __device__ constexpr int threads_of(int bm, int bn, int wm, int wn) { return (bm / wm) * (bn / wn) * 32; }

// Shared-memory geometry of one stage: the input patch (pixels x BC channels, rows padded by 8
// halves so that ldmatrix's 8 rows hit 8 distinct bank groups), then the weights (9 taps x BN
// output channels x BC). With stride 2 the patch stores its even columns before its odd ones:
// the 8 consecutive output columns of an ldmatrix then read 8 consecutive rows at every tap
// (interleaved, they would be 2 rows apart and conflict two ways).
template <int TH, int TW, int BN, int S, int BC>
struct HaloTile {
  static constexpr int kPatchH = (TH - 1) * S + 3, kPatchW = (TW - 1) * S + 3;
  static constexpr int kLdc = BC + 8;
  static constexpr int kEvenColumns = (kPatchW + 1) / 2;
  static constexpr int kPatchHalves = kPatchH * kPatchW * kLdc;
  static constexpr int kWeightHalves = 9 * BN * kLdc;
  static constexpr int kStageHalves = kPatchHalves + kWeightHalves;
  __device__ static constexpr int column_slot(int px) { return S == 2 ? (px & 1) * kEvenColumns + (px >> 1) : px; }
  // Offset of tap (r, s) from an output pixel's (0, 0) tap, in patch rows.
  __device__ static constexpr int tap_slot(int r, int s) { return r * kPatchW + (S == 2 ? (s == 1 ? kEvenColumns : s / 2) : s); }
};

// What a CTA does with one patch, shared by both kernels: stage its input window and the
// weights in shared memory, multiply the nine taps, store the epilogue.
template <int TH, int TW, int BN, int WM, int WN, int S, int BC>
struct HaloCta {
  using Tile = HaloTile<TH, TW, BN, S, BC>;
  static constexpr int kBn = BN, kBc = BC;
  static constexpr int kThreads = threads_of(TH * TW, BN, WM, WN);
  static constexpr int kLdc = Tile::kLdc, kVectors = BC / 8;
  static constexpr int kMF = WM / 16, kNF = WN / 8;  // m16 and n8 fragments per warp
  static_assert(WM % 16 == 0 && WN % 16 == 0 && BC % 16 == 0, "whole fragments");

  // Patch `tile` of the output.
  __device__ static TileOrigin patch_of(int tile, const ConvIgemmParams& p) { return tile_origin(tile, p.out_h, p.out_w, TH, TW); }

  // Warp and lane coordinates of thread `tid` of the CTA (or of its group of kThreads, in a CTA of
  // several), and the lane's ldmatrix rows: A rows are output pixels of the tile, at their (0, 0)
  // tap in the patch; B rows are output channels 8 * (lane / 16) + lane % 8, columns
  // 8 * ((lane / 8) % 2).
  struct Lane {
    int warp_m, warp_n, lane, a_slot[kMF], a_col, b_row, b_col;
    __device__ explicit Lane(unsigned tid = threadIdx.x) {
      const int warp = static_cast<int>(tid / 32);
      lane = static_cast<int>(tid % 32);
      warp_m = warp / (BN / WN);
      warp_n = warp % (BN / WN);
#pragma unroll
      for (int f = 0; f < kMF; ++f) {
        const int m = warp_m * WM + f * 16 + lane % 16;
        a_slot[f] = (m / TW) * S * Tile::kPatchW + Tile::column_slot((m % TW) * S);
      }
      a_col = (lane / 16) * 8;
      b_row = warp_n * WN + (lane / 16) * 8 + lane % 8;
      b_col = ((lane / 8) % 2) * 8;
    }
  };

  // The patch's input window, channels c0..c0+BC, zero-filled outside the image; copied by
  // kCopiers threads, this one being number `tid` (the CTA's threads by default).
  template <int kCopiers = kThreads>
  __device__ static void load_window(half* dst, const ConvIgemmParams& p, const TileOrigin& patch, int c0, unsigned tid = threadIdx.x) {
    const half* x = static_cast<const half*>(p.x);
    const half* x_image = x + patch.image * p.x_sn;
    const int ih0 = patch.y0 * S - p.pad_h, iw0 = patch.x0 * S - p.pad_w;
#pragma unroll
    for (int v = static_cast<int>(tid); v < Tile::kPatchH * Tile::kPatchW * kVectors; v += kCopiers) {
      const int pixel = v / kVectors, part = v % kVectors;
      const int py = pixel / Tile::kPatchW, px = pixel % Tile::kPatchW;
      const int ih = ih0 + py, iw = iw0 + px;
      const bool pred = static_cast<unsigned>(ih) < static_cast<unsigned>(p.h) && static_cast<unsigned>(iw) < static_cast<unsigned>(p.w_in);
      cp_async16(dst + (py * Tile::kPatchW + Tile::column_slot(px)) * kLdc + part * 8,
                 pred ? x_image + ih * p.x_sh + iw * p.x_sw + c0 + part * 8 : x, pred);
    }
  }

  // Weights of output channels n0..n0+BN and input channels c0..c0+BC, all nine taps; copied as
  // load_window's.
  template <int kCopiers = kThreads>
  __device__ static void load_weights(half* dst, const ConvIgemmParams& p, int n0, int c0, unsigned tid = threadIdx.x) {
    const half* w = static_cast<const half*>(p.w);
    const int kgemm = 9 * p.c;
#pragma unroll
    for (int v = static_cast<int>(tid); v < 9 * BN * kVectors; v += kCopiers) {
      const int row = v / kVectors, part = v % kVectors;  // row = tap * BN + output channel
      const int tap = row / BN, k = n0 + row % BN;
      const bool pred = k < p.k;
      cp_async16(dst + row * kLdc + part * 8, pred ? w + static_cast<long long>(k) * kgemm + tap * p.c + c0 + part * 8 : w, pred);
    }
  }

  __device__ static void multiply(float (&acc)[kMF][kNF][4], const half* window, const half* weights, const Lane& l) {
#pragma unroll
    for (int r = 0; r < 3; ++r)
#pragma unroll
      for (int s = 0; s < 3; ++s)
#pragma unroll
        for (int ks = 0; ks < BC; ks += 16) {
          unsigned a[kMF][4], b[kNF / 2][4];
#pragma unroll
          for (int f = 0; f < kMF; ++f) ldmatrix_x4(a[f], window + (l.a_slot[f] + Tile::tap_slot(r, s)) * kLdc + ks + l.a_col);
#pragma unroll
          for (int f = 0; f < kNF / 2; ++f) ldmatrix_x4(b[f], weights + ((r * 3 + s) * BN + l.b_row + f * 16) * kLdc + ks + l.b_col);
          mma_warp_tile(acc, a, b);
        }
  }

  __device__ static void store(float (&acc)[kMF][kNF][4], const ConvIgemmParams& p, const TileOrigin& patch, int n0, const Lane& l) {
    store_accumulators(acc, p, l.warp_m * WM, n0 + l.warp_n * WN, l.lane, [&](int row) {
      const int oh = patch.y0 + row / TW, ow = patch.x0 + row % TW;
      if (oh >= p.out_h || ow >= p.out_w) return OutputPixel{false, 0, 0};
      return OutputPixel{true, patch.image * p.y_sn + oh * p.y_sh + ow * p.y_sw, patch.image * p.r_sn + oh * p.r_sh + ow * p.r_sw};
    });
  }

  // The patch's residual (TH*TW pixels x BN channels from n0, rows of kResidualLd halves) copied
  // into shared memory ahead of the epilogue that adds it; zero-filled outside the map.
  static constexpr int kResidualLd = BN + 8;
  static constexpr int kResidualHalves = TH * TW * kResidualLd;
  __device__ static void load_residual(half* dst, const ConvIgemmParams& p, const TileOrigin& patch, int n0) {
    const half* r = static_cast<const half*>(p.residual);
    constexpr int kVectorsPerRow = BN / 8;
#pragma unroll
    for (int v = threadIdx.x; v < TH * TW * kVectorsPerRow; v += kThreads) {
      const int row = v / kVectorsPerRow, part = v % kVectorsPerRow;
      const int oh = patch.y0 + row / TW, ow = patch.x0 + row % TW, k = n0 + part * 8;
      const bool pred = oh < p.out_h && ow < p.out_w && k < p.k;
      cp_async16(dst + row * kResidualLd + part * 8, pred ? r + patch.image * p.r_sn + oh * p.r_sh + ow * p.r_sw + k : r, pred);
    }
  }
  // store() with the residual from load_residual's copy.
  __device__ static void store_staged(float (&acc)[kMF][kNF][4], const ConvIgemmParams& p, const TileOrigin& patch, int n0,
                                      const Lane& l, const half* residual) {
    store_accumulators(
        acc, p, l.warp_m * WM, n0 + l.warp_n * WN, l.lane,
        [&](int row) {
          const int oh = patch.y0 + row / TW, ow = patch.x0 + row % TW;
          if (oh >= p.out_h || ow >= p.out_w) return OutputPixel{false, 0, 0};
          return OutputPixel{true, patch.image * p.y_sn + oh * p.y_sh + ow * p.y_sw, static_cast<long long>(row) * kResidualLd - n0};
        },
        residual);
  }
};

}  // namespace detstream::inference::cuda
