// Letterbox geometry: where a source image lands inside the model's input (Ultralytics LetterBox
// with auto=False, center=True, scaleup=True) and how boxes map back (Ultralytics scale_boxes).
// Pure arithmetic, no pixels: the OpenCV letterbox (pipeline/preprocess/letterbox.h), a future GPU
// letterbox and the decoder all share it, so they cannot disagree. Value type; thread-safe.
//
// Ultralytics rounds with Python's round() (half to even) on doubles; so does this file. Note that
// Ultralytics' scale_boxes recomputes the pad from the *unrounded* resized size, which can differ
// by one pixel from the pad the letterbox applied; both are kept so that decoding is exact.
#pragma once

namespace detstream::postprocess {

struct LetterboxGeometry {
  int source_width = 0;
  int source_height = 0;
  int target_width = 0;   // the model input's W
  int target_height = 0;  // the model input's H
  double scale = 1.0;     // r = min(H / h, W / w)
  int resized_width = 0;  // round(w * r)
  int resized_height = 0; // round(h * r)
  int pad_left = 0;       // where the resized image is placed (left/top), and the padding after it
  int pad_top = 0;
  int pad_right = 0;
  int pad_bottom = 0;
  int unpad_x = 0;        // what scale_boxes subtracts before dividing by `scale`
  int unpad_y = 0;
};

// Python's round(): to nearest, ties to even.
double round_half_even(double value);

// Throws inference::Error when a size is not positive.
LetterboxGeometry compute_letterbox_geometry(int source_width, int source_height, int target_width,
                                             int target_height);

}  // namespace detstream::postprocess
