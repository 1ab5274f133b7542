#include "postprocess/letterbox_geometry.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "inference/core/error.h"

namespace detstream::postprocess {

double round_half_even(double value) {
  const double floor = std::floor(value);
  const double fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1.0;
  return std::fmod(floor, 2.0) == 0.0 ? floor : floor + 1.0;
}

namespace {
int round_to_int(double value) { return static_cast<int>(round_half_even(value)); }
}  // namespace

LetterboxGeometry compute_letterbox_geometry(int source_width, int source_height, int target_width,
                                             int target_height) {
  if (source_width <= 0 || source_height <= 0 || target_width <= 0 || target_height <= 0) {
    throw inference::Error("letterbox: sizes must be positive, got source " + std::to_string(source_width) + "x" +
                           std::to_string(source_height) + ", target " + std::to_string(target_width) + "x" +
                           std::to_string(target_height));
  }
  LetterboxGeometry g;
  g.source_width = source_width;
  g.source_height = source_height;
  g.target_width = target_width;
  g.target_height = target_height;
  g.scale = std::min(static_cast<double>(target_height) / source_height,
                     static_cast<double>(target_width) / source_width);
  // At least one pixel: a 1x10000 strip would otherwise round to an empty image.
  g.resized_width = std::max(1, round_to_int(source_width * g.scale));
  g.resized_height = std::max(1, round_to_int(source_height * g.scale));
  const double dw = (target_width - g.resized_width) / 2.0;
  const double dh = (target_height - g.resized_height) / 2.0;
  // The +-0.1 puts the odd pixel of an odd total pad at the bottom/right, as Ultralytics does.
  g.pad_top = round_to_int(dh - 0.1);
  g.pad_bottom = round_to_int(dh + 0.1);
  g.pad_left = round_to_int(dw - 0.1);
  g.pad_right = round_to_int(dw + 0.1);
  g.unpad_x = round_to_int((target_width - source_width * g.scale) / 2.0 - 0.1);
  g.unpad_y = round_to_int((target_height - source_height * g.scale) / 2.0 - 0.1);
  return g;
}

}  // namespace detstream::postprocess
