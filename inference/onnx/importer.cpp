#include "inference/onnx/importer.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "inference/core/error.h"
#include "inference/onnx/tensor_proto.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference::onnx {

namespace {

struct ImportState {
  Graph graph;
  std::string label;
  std::string base_dir;
  std::map<std::string, int> ids;  // value name -> id

  int value_id(const std::string& name) {
    const auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    const int id = graph.add_value(Value{name, DataType::kUndefined, {}, nullptr});
    ids.emplace(name, id);
    return id;
  }
};

std::string node_label(const ::onnx::NodeProto& node, int opset) {
  return node.op_type() + " '" + node.name() + "' (opset " + std::to_string(opset) + ")";
}

Attribute convert_attribute(const ::onnx::AttributeProto& a, const std::string& where, const std::string& base_dir) {
  using A = ::onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: return Attribute::of_int(a.i());
    case A::FLOAT: return Attribute::of_float(a.f());
    case A::STRING: return Attribute::of_string(a.s());
    case A::INTS: return Attribute::of_ints({a.ints().begin(), a.ints().end()});
    case A::FLOATS: return Attribute::of_floats({a.floats().begin(), a.floats().end()});
    case A::TENSOR: return Attribute::of_tensor(tensor_from_proto(a.t(), base_dir, where + " attribute '" + a.name() + "'"));
    default:
      throw Error(where + ": attribute '" + a.name() + "' has a type (" + std::to_string(a.type()) +
                  ") the engine does not support (subgraphs, sparse tensors and string lists are not handled)");
  }
}

void read_value_info(ImportState& s, const ::onnx::ValueInfoProto& info) {
  Value& v = s.graph.value(s.value_id(info.name()));
  if (!info.type().has_tensor_type()) return;
  const auto& tt = info.type().tensor_type();
  v.dtype = data_type_from_onnx(tt.elem_type());
  if (!tt.has_shape()) return;
  v.shape.clear();
  for (const auto& dim : tt.shape().dim()) {
    v.shape.push_back(dim.has_dim_value() && dim.dim_value() >= 0 ? dim.dim_value() : kUnknownDim);
  }
}

// A Constant node becomes a constant value; no node is kept.
void import_constant(ImportState& s, const ::onnx::NodeProto& node, int opset) {
  const std::string where = s.label + ": " + node_label(node, opset);
  if (node.output_size() != 1 || node.attribute_size() != 1) throw Error(where + ": expected one output and one attribute");
  const Attribute a = convert_attribute(node.attribute(0), where, s.base_dir);
  const std::string& key = node.attribute(0).name();
  Tensor t;
  if (key == "value") t = a.tensor;
  else if (key == "value_float") t = Tensor::from_float({a.f}, {});
  else if (key == "value_floats") t = Tensor::from_float(a.floats, {static_cast<std::int64_t>(a.floats.size())});
  else if (key == "value_int") t = Tensor::from_int64({a.i}, {});
  else if (key == "value_ints") t = Tensor::from_int64(a.ints, {static_cast<std::int64_t>(a.ints.size())});
  else throw Error(where + ": attribute '" + key + "' is not supported");
  Value& v = s.graph.value(s.value_id(node.output(0)));
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.constant = std::make_shared<const Tensor>(std::move(t));
}

void import_node(ImportState& s, const ::onnx::NodeProto& proto, int opset, int index) {
  const std::string where = s.label + ": node " + std::to_string(index) + " " + node_label(proto, opset);
  if (!proto.domain().empty() && proto.domain() != "ai.onnx") {
    throw Error(where + ": operator domain '" + proto.domain() + "' is not supported (only the default ONNX domain)");
  }
  if (proto.op_type() == "Constant") {
    import_constant(s, proto, opset);
    return;
  }
  const OpSchema* schema = find_op_schema(proto.op_type());
  if (!schema) throw Error(where + ": unsupported operator '" + proto.op_type() + "'");
  if (opset < schema->min_opset) {
    throw Error(where + ": this opset's version of " + proto.op_type() + " is not supported (need opset >= " +
                std::to_string(schema->min_opset) + ")");
  }
  Node node;
  node.name = proto.name().empty() ? proto.op_type() + "_" + std::to_string(index) : proto.name();
  node.op_type = proto.op_type();
  node.opset = opset;
  for (const auto& input : proto.input()) {
    if (input.empty()) {
      node.inputs.push_back(kNoValue);
      continue;
    }
    const auto it = s.ids.find(input);
    if (it == s.ids.end()) throw Error(where + ": input '" + input + "' is not produced by any earlier node or initializer");
    node.inputs.push_back(it->second);
  }
  for (const auto& output : proto.output()) node.outputs.push_back(output.empty() ? kNoValue : s.value_id(output));
  for (const auto& attribute : proto.attribute()) {
    node.attributes.emplace(attribute.name(), convert_attribute(attribute, where, s.base_dir));
  }
  s.graph.nodes.push_back(std::move(node));
}

int default_opset(const ::onnx::ModelProto& model, const std::string& label) {
  int opset = -1;
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") opset = static_cast<int>(entry.version());
  }
  if (opset < 0) opset = model.ir_version() < 3 ? 1 : -1;
  if (opset < 1) throw Error(label + ": the model imports no default-domain opset");
  if (opset > kMaxOpset) {
    throw Error(label + ": opset " + std::to_string(opset) + " is newer than the newest supported (" +
                std::to_string(kMaxOpset) + "); re-export with opset <= " + std::to_string(kMaxOpset));
  }
  return opset;
}

Graph import_proto(const ::onnx::ModelProto& model, const std::string& base_dir, const std::string& label) {
  if (model.ir_version() > kMaxIrVersion) {
    throw Error(label + ": ONNX IR version " + std::to_string(model.ir_version()) + " is newer than supported (" +
                std::to_string(kMaxIrVersion) + ")");
  }
  if (!model.has_graph()) throw Error(label + ": the model has no graph (not an ONNX model, or truncated)");
  ImportState s;
  s.label = label;
  s.base_dir = base_dir;
  s.graph.opset = default_opset(model, label);
  for (const auto& prop : model.metadata_props()) s.graph.metadata[prop.key()] = prop.value();
  const auto& g = model.graph();
  for (const auto& init : g.initializer()) {
    Tensor t = tensor_from_proto(init, base_dir, label + ": initializer '" + init.name() + "'");
    Value& v = s.graph.value(s.value_id(init.name()));
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.constant = std::make_shared<const Tensor>(std::move(t));
  }
  for (const auto& input : g.input()) {
    const bool is_initializer = s.ids.count(input.name()) && s.graph.value(s.ids[input.name()]).is_constant();
    if (is_initializer) continue;
    read_value_info(s, input);
    s.graph.inputs.push_back(s.ids[input.name()]);
  }
  for (int i = 0; i < g.node_size(); ++i) import_node(s, g.node(i), s.graph.opset, i);
  for (const auto& info : g.value_info()) {
    if (s.ids.count(info.name()) && !s.graph.value(s.ids[info.name()]).is_constant()) read_value_info(s, info);
  }
  for (const auto& output : g.output()) {
    if (!s.ids.count(output.name())) {
      throw Error(label + ": graph output '" + output.name() + "' is not produced by any node (truncated or malformed model?)");
    }
    const int id = s.ids[output.name()];
    if (s.graph.value(id).dtype == DataType::kUndefined) read_value_info(s, output);
    s.graph.outputs.push_back(id);
  }
  if (s.graph.outputs.empty()) throw Error(label + ": the graph declares no outputs");
  return std::move(s.graph);
}

}  // namespace

Graph import_model_bytes(const std::string& bytes, const std::string& base_dir, const std::string& label) {
  ::onnx::ModelProto model;
  if (bytes.empty()) throw Error(label + ": the file is empty");
  if (!model.ParseFromString(bytes)) {
    throw Error(label + ": not a valid ONNX model (protobuf parsing failed: truncated or not an ONNX file)");
  }
  return import_proto(model, base_dir, label);
}

Graph import_model_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot open ONNX model '" + path + "': " + (std::filesystem::exists(path) ? "not readable" : "no such file"));
  std::ostringstream buffer;
  buffer << file.rdbuf();
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return import_model_bytes(buffer.str(), base_dir.empty() ? "." : base_dir, path);
}

}  // namespace detstream::inference::onnx
