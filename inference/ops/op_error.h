// How op schemas name a node in errors: "Slice '/model.22/Slice' (opset 22): <what is wrong>".
// Every infer/compute failure in inference/ops goes through node_error so that messages carry the
// op type, node name and opset (shape inference passes messages that start with the op type on
// unchanged). Pure helpers; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inference/core/error.h"
#include "inference/graph/graph.h"

namespace detstream::inference::ops {

inline std::string node_label(const Node& node) {
  return node.op_type + " '" + node.name + "' (opset " + std::to_string(node.opset) + ")";
}

inline Error node_error(const Node& node, const std::string& message) {
  return Error(node_label(node) + ": " + message);
}

// "[1, -1, 4]": integer lists as given (Shape's to_string prints -1 as "?").
inline std::string list_string(const std::vector<std::int64_t>& values) {
  std::string text = "[";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

// Throws unless the node has at least `min` and at most `max` inputs given (absent optionals in
// the middle count), and every input below `min` is present.
void check_input_count(const Node& node, std::size_t given, std::size_t min, std::size_t max);

}  // namespace detstream::inference::ops
