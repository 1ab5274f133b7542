#include "inference/cuda/iteration_space.h"

namespace detstream::inference::cuda {

IterationSpace collapse_dims(const Shape& dims, const std::vector<std::vector<std::int64_t>>& strides) {
  IterationSpace space;
  space.strides.resize(strides.size());
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    space.dims.push_back(dims[d]);
    for (std::size_t k = 0; k < strides.size(); ++k) space.strides[k].push_back(strides[k][d]);
  }
  // Merge from the innermost dimension outwards: (outer, inner) fuse when outer's stride equals
  // inner's stride times inner's extent for every operand.
  for (std::size_t d = space.dims.size(); d-- > 1;) {
    bool mergeable = true;
    for (const auto& s : space.strides) mergeable = mergeable && s[d - 1] == s[d] * space.dims[d];
    if (!mergeable) continue;
    space.dims[d - 1] *= space.dims[d];
    space.dims.erase(space.dims.begin() + static_cast<std::ptrdiff_t>(d));
    for (auto& s : space.strides) {
      s[d - 1] = s[d];
      s.erase(s.begin() + static_cast<std::ptrdiff_t>(d));
    }
  }
  if (space.dims.empty()) {
    space.dims.push_back(1);
    for (auto& s : space.strides) s.push_back(0);
  }
  return space;
}

}  // namespace detstream::inference::cuda
