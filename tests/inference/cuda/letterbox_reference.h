// CPU reference of the GPU letterbox, shared by the letterbox kernel's test and the frame path's
// test: Ultralytics LetterBox geometry (auto=False, center=True, scaleup=True) and a plain
// double-precision bilinear resize with OpenCV's pixel-centre mapping, pad 114, BGR -> RGB, / 255
// into NCHW float32. OpenCV-free (the GPU machine has no OpenCV).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace detstream::inference::cuda {

// Ultralytics LetterBox geometry (auto=False, center=True, scaleup=True), Python round() = ties
// to even (std::nearbyint under the default rounding mode).
struct Geometry {
  int resized_w, resized_h, left, top;
};
inline Geometry letterbox_geometry(int w, int h, int target_w, int target_h) {
  const double r = std::min(static_cast<double>(target_h) / h, static_cast<double>(target_w) / w);
  Geometry g;
  g.resized_w = static_cast<int>(std::nearbyint(w * r));
  g.resized_h = static_cast<int>(std::nearbyint(h * r));
  const double dw = (target_w - g.resized_w) / 2.0, dh = (target_h - g.resized_h) / 2.0;
  g.left = static_cast<int>(std::nearbyint(dw - 0.1));
  g.top = static_cast<int>(std::nearbyint(dh - 0.1));
  return g;
}

// CPU reference: bilinear resize with OpenCV's pixel-centre mapping and border clamping, in
// double precision, rounded to 8 bits; then pad, BGR -> RGB and / 255 into NCHW float32.
inline std::vector<float> cpu_letterbox(const std::vector<std::uint8_t>& bgr, int w, int h, const Geometry& g, int tw, int th) {
  std::vector<float> out(3u * tw * th, 114.0f / 255.0f);
  auto axis = [](int d, int src, int dst, int& i0, int& i1, double& f) {
    double x = (d + 0.5) * src / dst - 0.5;
    x = std::clamp(x, 0.0, static_cast<double>(src - 1));
    i0 = static_cast<int>(std::floor(x));
    i1 = std::min(i0 + 1, src - 1);
    f = x - i0;
  };
  for (int y = 0; y < g.resized_h; ++y) {
    int y0, y1;
    double fy;
    axis(y, h, g.resized_h, y0, y1, fy);
    for (int x = 0; x < g.resized_w; ++x) {
      int x0, x1;
      double fx;
      axis(x, w, g.resized_w, x0, x1, fx);
      for (int c = 0; c < 3; ++c) {
        auto px = [&](int yy, int xx) { return static_cast<double>(bgr[(static_cast<std::size_t>(yy) * w + xx) * 3 + c]); };
        const double v = (1 - fy) * ((1 - fx) * px(y0, x0) + fx * px(y0, x1)) + fy * ((1 - fx) * px(y1, x0) + fx * px(y1, x1));
        const double byte = std::clamp(std::nearbyint(v), 0.0, 255.0);
        const int plane = 2 - c;  // BGR -> RGB
        out[(static_cast<std::size_t>(plane) * th + y + g.top) * tw + x + g.left] = static_cast<float>(byte) * (1.0f / 255.0f);
      }
    }
  }
  return out;
}

// A smooth picture with noise: bilinear sampling differences stay at rounding level.
inline std::vector<std::uint8_t> random_frame(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-20, 20);
  std::vector<std::uint8_t> bgr(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const int v = (x * (c + 1) * 255 / w + y * 255 / h) / 2 + noise(rng);
        bgr[(static_cast<std::size_t>(y) * w + x) * 3 + c] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
      }
  return bgr;
}

}  // namespace detstream::inference::cuda
