#include "inference/graph/shape_inference.h"

#include <algorithm>
#include <vector>

#include "inference/core/error.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference {

void bind_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes) {
  for (const auto& [name, shape] : shapes) {
    const int id = graph.find_value(name);
    const bool is_input = id != kNoValue && std::find(graph.inputs.begin(), graph.inputs.end(), id) != graph.inputs.end();
    if (!is_input) throw Error("'" + name + "' is not an input of the model");
    Value& v = graph.value(id);
    if (!v.shape.empty() && v.shape.size() != shape.size()) {
      throw Error("input '" + name + "' has rank " + std::to_string(v.shape.size()) + " (" + to_string(v.shape) +
                  ") but a shape of rank " + std::to_string(shape.size()) + " (" + to_string(shape) + ") was given");
    }
    for (std::size_t i = 0; i < v.shape.size(); ++i) {
      if (v.shape[i] >= 0 && v.shape[i] != shape[i]) {
        throw Error("input '" + name + "' is fixed at " + to_string(v.shape) + " in the model; " + to_string(shape) +
                    " was asked for (re-export the model with dynamic=True to change it)");
      }
    }
    if (!is_static(shape)) throw Error("input '" + name + "': shape " + to_string(shape) + " is not fully specified");
    v.shape = shape;
  }
}

namespace {

bool all_inputs_constant(const Graph& graph, const Node& node) {
  for (int id : node.inputs) {
    if (id != kNoValue && !graph.value(id).is_constant()) return false;
  }
  return true;
}

void evaluate_constant(Graph& graph, const Node& node, const OpSchema& schema, const std::vector<OutputInfo>& infos) {
  std::vector<ConstTensorView> inputs;
  for (int id : node.inputs) {
    inputs.push_back(id == kNoValue ? ConstTensorView{} : graph.value(id).constant->view());
  }
  std::vector<Tensor> results;
  std::vector<TensorView> outputs;
  results.reserve(infos.size());
  for (const OutputInfo& info : infos) results.emplace_back(info.dtype, info.shape);
  for (Tensor& t : results) outputs.push_back(t.view());
  schema.compute(node, inputs, outputs);
  for (std::size_t i = 0; i < node.outputs.size() && i < results.size(); ++i) {
    if (node.outputs[i] == kNoValue) continue;
    graph.value(node.outputs[i]).constant = std::make_shared<const Tensor>(std::move(results[i]));
  }
}

// Returns true when the node was folded away.
bool infer_node(Graph& graph, const Node& node) {
  const OpSchema* schema = find_op_schema(node.op_type);
  if (!schema) throw Error(graph.describe(node) + ": unsupported operator");
  std::vector<InputInfo> inputs;
  for (int id : node.inputs) {
    if (id == kNoValue) {
      inputs.push_back({});
      continue;
    }
    const Value& v = graph.value(id);
    if (!is_static(v.shape)) {
      throw Error(graph.describe(node) + ": input '" + v.name + "' has unknown shape " + to_string(v.shape) +
                  " (bind the model's input shapes first)");
    }
    inputs.push_back({v.dtype, v.shape, v.constant.get()});
  }
  std::vector<OutputInfo> infos;
  try {
    infos = schema->infer(node, inputs);
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(node.op_type, 0) == 0 ? what : graph.describe(node) + ": " + what);
  }
  if (infos.size() < node.outputs.size()) {
    infos.resize(node.outputs.size());
  }
  bool all_known = true;
  for (std::size_t i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i] == kNoValue) continue;
    Value& out = graph.value(node.outputs[i]);
    out.dtype = infos[i].dtype;
    out.shape = infos[i].shape;
    out.constant = infos[i].constant;
    all_known = all_known && out.constant;
  }
  if (all_known) return true;
  if (!all_inputs_constant(graph, node)) return false;
  try {
    evaluate_constant(graph, node, *schema, infos);
  } catch (const Error& e) {
    throw Error(graph.describe(node) + ": folding failed: " + e.what());
  }
  return true;
}

}  // namespace

InferenceResult infer_and_fold(Graph& graph) {
  InferenceResult result;
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (Node& node : graph.nodes) {
    if (infer_node(graph, node)) {
      ++result.folded_nodes;
    } else {
      kept.push_back(std::move(node));
    }
  }
  graph.nodes = std::move(kept);
  return result;
}

}  // namespace detstream::inference
