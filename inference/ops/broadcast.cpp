#include "inference/ops/broadcast.h"

namespace detstream::inference::ops {

void broadcast_strides_into(const Shape& input, const Shape& output, std::int64_t* strides) {
  const std::size_t offset = output.size() - input.size();
  for (std::size_t i = 0; i < offset; ++i) strides[i] = 0;
  std::int64_t dense = 1;
  for (std::size_t i = input.size(); i-- > 0;) {
    strides[offset + i] = input[i] == 1 && output[offset + i] != 1 ? 0 : dense;
    dense *= input[i];
  }
}

std::vector<std::int64_t> broadcast_strides(const Shape& input, const Shape& output) {
  std::vector<std::int64_t> strides(output.size(), 0);
  broadcast_strides_into(input, output, strides.data());
  return strides;
}

}  // namespace detstream::inference::ops
