// Node attributes: the subset of ONNX AttributeProto the engine uses (int, float, string, ints,
// floats, tensor). Plain values, copied with the node.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inference/core/tensor.h"

namespace detstream::inference {

struct Attribute {
  enum class Kind : std::uint8_t { kInt, kFloat, kString, kInts, kFloats, kTensor };
  Kind kind = Kind::kInt;
  std::int64_t i = 0;
  float f = 0.0f;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  Tensor tensor;

  static Attribute of_int(std::int64_t v) { Attribute a; a.kind = Kind::kInt; a.i = v; return a; }
  static Attribute of_float(float v) { Attribute a; a.kind = Kind::kFloat; a.f = v; return a; }
  static Attribute of_string(std::string v) { Attribute a; a.kind = Kind::kString; a.s = std::move(v); return a; }
  static Attribute of_ints(std::vector<std::int64_t> v) { Attribute a; a.kind = Kind::kInts; a.ints = std::move(v); return a; }
  static Attribute of_floats(std::vector<float> v) { Attribute a; a.kind = Kind::kFloats; a.floats = std::move(v); return a; }
  static Attribute of_tensor(Tensor v) { Attribute a; a.kind = Kind::kTensor; a.tensor = std::move(v); return a; }
};

using Attributes = std::map<std::string, Attribute>;

}  // namespace detstream::inference
