// The reference backend ("ref"): runs every node with its plain C++ reference kernel on float32
// row-major tensors. Slow and simple; the yardstick the other backends are tested against.
#pragma once

#include "inference/backend.h"

namespace detstream::inference {

const Backend& reference_backend();

}  // namespace detstream::inference
