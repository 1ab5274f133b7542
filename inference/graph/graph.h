// The graph IR: values (typed edges, possibly constant) and nodes (ONNX-style ops) in topological
// order. The importer builds it; passes rewrite it; the builder binds shapes and assigns each node
// to a backend implementation (Node::impl); the plan serializes it. A Graph is a plain value type:
// no locking, one writer at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inference/core/tensor.h"
#include "inference/graph/attribute.h"

namespace detstream::inference {

inline constexpr int kNoValue = -1;  // an absent optional input

struct Value {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Shape shape;
  // Set for initializers and folded values; shared so that graph copies do not copy weights.
  std::shared_ptr<const Tensor> constant;

  bool is_constant() const { return constant != nullptr; }
};

struct Node {
  std::string name;
  std::string op_type;
  int opset = 0;             // default-domain opset the node was written against
  std::vector<int> inputs;   // value ids, kNoValue for an absent optional input
  std::vector<int> outputs;  // value ids
  Attributes attributes;
  std::string impl;  // backend implementation chosen at build time (e.g. "cpu.dnnl"), "" before

  bool has_attribute(const std::string& key) const { return attributes.count(key) != 0; }
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& key, std::vector<std::int64_t> fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key) const;
  // Number of inputs actually given (trailing absent optionals are not counted).
  std::size_t input_count() const;
  bool has_input(std::size_t index) const { return index < inputs.size() && inputs[index] != kNoValue; }
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;  // topologically ordered
  std::vector<int> inputs;  // runtime inputs (not initializers)
  std::vector<int> outputs;
  int opset = 0;            // default-domain opset of the model
  std::map<std::string, std::string> metadata;  // ONNX metadata_props (names, stride, imgsz, task)

  int add_value(Value value);
  int find_value(const std::string& name) const;  // kNoValue if absent
  const Value& value(int id) const { return values.at(static_cast<std::size_t>(id)); }
  Value& value(int id) { return values.at(static_cast<std::size_t>(id)); }
  // "Conv 'model.0/conv/Conv' (opset 20)": how errors name a node.
  std::string describe(const Node& node) const;
  // Consumers of each value, indexed by value id (rebuilt on demand; passes call it after edits).
  std::vector<std::vector<int>> consumers() const;
  bool is_graph_output(int value_id) const;
};

}  // namespace detstream::inference
