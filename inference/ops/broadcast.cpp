#include "inference/ops/broadcast.h"

namespace detstream::inference::ops {

std::vector<std::int64_t> broadcast_strides(const Shape& input, const Shape& output) {
  std::vector<std::int64_t> strides(output.size(), 0);
  const auto dense = strides_of(input);
  const std::size_t offset = output.size() - input.size();
  for (std::size_t i = 0; i < input.size(); ++i) {
    strides[offset + i] = input[i] == 1 && output[offset + i] != 1 ? 0 : dense[i];
  }
  return strides;
}

}  // namespace detstream::inference::ops
