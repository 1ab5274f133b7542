#include "inference/cuda/weight_layout.h"

#include "inference/core/error.h"

namespace detstream::inference::cuda {

std::vector<float> conv_weights(const Tensor& weights, bool to_ohwi) {
  std::vector<float> oihw = weights.to_float_vector();
  if (!to_ohwi) return oihw;
  const Shape& s = weights.shape();
  if (s.size() != 4) throw Error("conv weights of shape " + to_string(s) + " cannot be reordered to OHWI (need rank 4)");
  const std::int64_t o = s[0], i = s[1], h = s[2], w = s[3];
  std::vector<float> ohwi(oihw.size());
  for (std::int64_t a = 0; a < o; ++a)
    for (std::int64_t b = 0; b < i; ++b)
      for (std::int64_t c = 0; c < h; ++c)
        for (std::int64_t d = 0; d < w; ++d) {
          ohwi[static_cast<std::size_t>(((a * h + c) * w + d) * i + b)] = oihw[static_cast<std::size_t>(((a * i + b) * h + c) * w + d)];
        }
  return ohwi;
}

std::vector<std::uint16_t> to_half(const std::vector<float>& values) {
  std::vector<std::uint16_t> half(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) half[k] = float_to_half(values[k]);
  return half;
}

}  // namespace detstream::inference::cuda
