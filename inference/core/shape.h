// Shapes: a dimension list; kUnknownDim marks a dimension not known until input shapes are bound.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace detstream::inference {

using Shape = std::vector<std::int64_t>;
inline constexpr std::int64_t kUnknownDim = -1;

// Product of the dimensions (1 for a scalar); -1 if any dimension is unknown.
std::int64_t element_count(const Shape& shape);
bool is_static(const Shape& shape);
// "1x3x640x640"; unknown dimensions print as "?".
std::string to_string(const Shape& shape);
// Row-major strides in elements.
std::vector<std::int64_t> strides_of(const Shape& shape);
// NumPy-style broadcast of two static shapes; throws Error naming both when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Normalises a possibly negative axis against rank; throws Error when out of range.
int normalize_axis(std::int64_t axis, std::size_t rank);

}  // namespace detstream::inference
