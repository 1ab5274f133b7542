#include "inference/graph/graph.h"

#include <algorithm>

#include "inference/core/error.h"

namespace detstream::inference {

std::int64_t Node::attr_int(const std::string& key, std::int64_t fallback) const {
  const auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.i;
}

float Node::attr_float(const std::string& key, float fallback) const {
  const auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.f;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.s;
}

std::vector<std::int64_t> Node::attr_ints(const std::string& key, std::vector<std::int64_t> fallback) const {
  const auto it = attributes.find(key);
  return it == attributes.end() ? fallback : it->second.ints;
}

std::vector<float> Node::attr_floats(const std::string& key) const {
  const auto it = attributes.find(key);
  return it == attributes.end() ? std::vector<float>{} : it->second.floats;
}

std::size_t Node::input_count() const {
  std::size_t n = inputs.size();
  while (n > 0 && inputs[n - 1] == kNoValue) --n;
  return n;
}

int Graph::add_value(Value value) {
  values.push_back(std::move(value));
  return static_cast<int>(values.size()) - 1;
}

int Graph::find_value(const std::string& name) const {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i].name == name) return static_cast<int>(i);
  }
  return kNoValue;
}

std::string Graph::describe(const Node& node) const {
  return node.op_type + " '" + node.name + "' (opset " + std::to_string(opset) + ")";
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> result(values.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    for (int input : nodes[n].inputs) {
      if (input != kNoValue) result[static_cast<std::size_t>(input)].push_back(static_cast<int>(n));
    }
  }
  return result;
}

bool Graph::is_graph_output(int value_id) const {
  return std::find(outputs.begin(), outputs.end(), value_id) != outputs.end();
}

}  // namespace detstream::inference
