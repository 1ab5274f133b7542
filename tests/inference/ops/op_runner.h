// Test helper: runs one op schema directly, the way shape inference and the reference backend do:
// infer (every given input visible as a build-time constant unless marked runtime), allocate the
// inferred outputs, compute. Throws the schema's Error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "inference/core/error.h"
#include "inference/core/tensor.h"
#include "inference/graph/graph.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference::testing_ops {

struct OpInput {
  std::optional<Tensor> tensor;  // nullopt: an absent optional input
  bool constant = true;          // visible to infer as a build-time constant
};

inline OpInput in(Tensor t, bool constant = true) { return {std::move(t), constant}; }
inline OpInput absent() { return {std::nullopt, false}; }
inline OpInput runtime(Tensor t) { return {std::move(t), false}; }

inline Node make_node(const std::string& op, int opset, Attributes attributes = {}, std::size_t inputs = 1,
                      std::size_t outputs = 1) {
  Node node;
  node.name = "test_" + op;
  node.op_type = op;
  node.opset = opset;
  node.attributes = std::move(attributes);
  for (std::size_t i = 0; i < inputs; ++i) node.inputs.push_back(static_cast<int>(i));
  for (std::size_t i = 0; i < outputs; ++i) node.outputs.push_back(static_cast<int>(inputs + i));
  return node;
}

inline std::vector<OutputInfo> infer_op(const Node& node, const std::vector<OpInput>& inputs) {
  std::vector<InputInfo> infos;
  for (const OpInput& i : inputs) {
    if (!i.tensor) {
      infos.push_back({});
      continue;
    }
    infos.push_back({i.tensor->dtype(), i.tensor->shape(), i.constant ? &*i.tensor : nullptr});
  }
  const OpSchema* schema = find_op_schema(node.op_type);
  if (!schema) throw Error("no schema for " + node.op_type);
  return schema->infer(node, infos);
}

// Runs `node` (inputs marked absent become kNoValue) and returns its outputs.
inline std::vector<Tensor> run_op(Node node, const std::vector<OpInput>& inputs) {
  for (std::size_t i = 0; i < inputs.size() && i < node.inputs.size(); ++i) {
    if (!inputs[i].tensor) node.inputs[i] = kNoValue;
  }
  const std::vector<OutputInfo> infos = infer_op(node, inputs);
  std::vector<ConstTensorView> in;
  for (const OpInput& i : inputs) in.push_back(i.tensor ? i.tensor->view() : ConstTensorView{});
  std::vector<Tensor> results;
  for (const OutputInfo& info : infos) results.emplace_back(info.dtype, info.shape);
  std::vector<TensorView> out;
  for (Tensor& t : results) out.push_back(t.view());
  find_op_schema(node.op_type)->compute(node, in, out);
  return results;
}

inline Tensor iota(Shape shape, float start = 0.0f, float step = 1.0f) {
  Tensor t(DataType::kFloat32, std::move(shape));
  for (std::int64_t i = 0; i < t.count(); ++i) t.data<float>()[i] = start + step * static_cast<float>(i);
  return t;
}

inline Tensor ints(const std::vector<std::int64_t>& values) {
  return Tensor::from_int64(values, {static_cast<std::int64_t>(values.size())});
}

inline std::vector<float> values_of(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.count()}; }

}  // namespace detstream::inference::testing_ops
