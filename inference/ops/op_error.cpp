#include "inference/ops/op_error.h"

namespace detstream::inference::ops {

void check_input_count(const Node& node, std::size_t given, std::size_t min, std::size_t max) {
  if (given < min || given > max) {
    const std::string expected = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    throw node_error(node, "expects " + expected + " inputs, got " + std::to_string(given));
  }
  for (std::size_t i = 0; i < min; ++i) {
    if (!node.has_input(i)) throw node_error(node, "required input " + std::to_string(i) + " is missing");
  }
}

}  // namespace detstream::inference::ops
