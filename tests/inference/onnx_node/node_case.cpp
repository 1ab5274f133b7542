#include "node_case.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "inference/builder/builder.h"
#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/onnx/tensor_proto.h"
#include "inference/ops/op_schema.h"
#include "inference/runtime/engine.h"

namespace detstream::inference::onnx_node {

namespace fs = std::filesystem;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-5;

std::string read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot read " + path.string());
  std::ostringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// `declared` is the model's type for this tensor: ONNX 1.12's generator stores bfloat16 data as
// UINT16 tensors (numpy has no bfloat16), which are read back as the bfloat16 bits they are.
NamedTensor read_tensor_pb(const fs::path& path, DataType declared) {
  ::onnx::TensorProto proto;
  if (!proto.ParseFromString(read_bytes(path))) throw Error(path.string() + ": not a TensorProto");
  constexpr int kOnnxUint16 = 4, kOnnxBfloat16 = 16;
  if (proto.data_type() == kOnnxUint16 && declared == DataType::kBFloat16) proto.set_data_type(kOnnxBfloat16);
  return {proto.name(), onnx::tensor_from_proto(proto, path.parent_path().string(), path.filename().string())};
}

// input_0.pb, input_1.pb, ... (or output_*) in index order; `values` are the graph's inputs or
// outputs in the same order.
std::vector<NamedTensor> read_tensors(const Graph& graph, const std::vector<int>& values, const fs::path& data_set,
                                      const std::string& prefix) {
  std::vector<NamedTensor> tensors;
  for (std::size_t i = 0;; ++i) {
    const fs::path path = data_set / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(path)) break;
    tensors.push_back(read_tensor_pb(path, i < values.size() ? graph.value(values[i]).dtype : DataType::kUndefined));
  }
  return tensors;
}

// Sequence and optional values import without a tensor type.
void require_tensor_types(const Graph& graph) {
  for (const std::vector<int>* ids : {&graph.inputs, &graph.outputs}) {
    for (int id : *ids) {
      if (graph.value(id).dtype == DataType::kUndefined) {
        throw Error("graph input/output '" + graph.value(id).name +
                    "' is not a tensor of a supported type (sequence, optional, string, uint16/32/64 values are not supported)");
      }
    }
  }
}

std::vector<fs::path> data_sets(const fs::path& case_dir) {
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(case_dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(entry.path());
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

bool is_float(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

double float_at(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat32: return t.data<float>()[i];
    case DataType::kFloat64: return t.data<double>()[i];
    case DataType::kFloat16: return half_to_float(t.data<std::uint16_t>()[i]);
    case DataType::kBFloat16: return bfloat16_to_float(t.data<std::uint16_t>()[i]);
    default: return NAN;
  }
}

std::int64_t int_at(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DataType::kInt64: return t.data<std::int64_t>()[i];
    case DataType::kInt32: return t.data<std::int32_t>()[i];
    case DataType::kInt8: return t.data<std::int8_t>()[i];
    case DataType::kUInt8:
    case DataType::kBool: return t.data<std::uint8_t>()[i];
    default: return 0;
  }
}

bool close(double actual, double expected) {
  if (std::isnan(actual) || std::isnan(expected)) return std::isnan(actual) && std::isnan(expected);
  if (std::isinf(actual) || std::isinf(expected)) return actual == expected;
  return std::abs(actual - expected) <= kAtol + kRtol * std::abs(expected);
}

// "" when equal; otherwise what differs.
std::string compare(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype()) {
    return "type " + std::string(to_string(actual.dtype())) + ", expected " + std::string(to_string(expected.dtype()));
  }
  if (actual.shape() != expected.shape()) return "shape " + to_string(actual.shape()) + ", expected " + to_string(expected.shape());
  std::int64_t mismatches = 0, first = -1;
  for (std::int64_t i = 0; i < expected.count(); ++i) {
    const bool ok = is_float(expected.dtype()) ? close(float_at(actual, i), float_at(expected, i))
                                                : int_at(actual, i) == int_at(expected, i);
    if (!ok && mismatches++ == 0) first = i;
  }
  if (!mismatches) return "";
  std::ostringstream out;
  out << mismatches << " of " << expected.count() << " values differ; first at " << first << ": ";
  if (is_float(expected.dtype())) out << float_at(actual, first) << " vs expected " << float_at(expected, first);
  else out << int_at(actual, first) << " vs expected " << int_at(expected, first);
  return out.str();
}

// Turns the graph inputs that some node needs at build time into initializers holding `values`.
void freeze_build_time_inputs(Graph& graph, const std::map<int, const Tensor*>& values) {
  std::set<int> frozen;
  for (const Node& node : graph.nodes) {
    const OpSchema* schema = find_op_schema(node.op_type);
    if (!schema) continue;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      if (schema->needs_build_time_value(i) && values.count(node.inputs[i])) frozen.insert(node.inputs[i]);
    }
  }
  for (int id : frozen) {
    Value& v = graph.value(id);
    v.constant = std::make_shared<const Tensor>(*values.at(id));
    v.dtype = v.constant->dtype();
    v.shape = v.constant->shape();
  }
  graph.inputs.erase(std::remove_if(graph.inputs.begin(), graph.inputs.end(), [&](int id) { return frozen.count(id) != 0; }),
                     graph.inputs.end());
}

// Whether `actual` satisfies a declared shape (unknown dimensions match anything).
bool shape_fits(const Shape& declared, const Shape& actual) {
  if (declared.empty()) return true;
  if (declared.size() != actual.size()) return false;
  for (std::size_t i = 0; i < declared.size(); ++i) {
    if (declared[i] >= 0 && declared[i] != actual[i]) return false;
  }
  return true;
}

// Runs one data set; returns "" on success, else the problem.
std::string run_data_set(const Graph& imported, const fs::path& data_set) {
  require_tensor_types(imported);
  const std::vector<NamedTensor> inputs = read_tensors(imported, imported.inputs, data_set, "input");
  const std::vector<NamedTensor> expected = read_tensors(imported, imported.outputs, data_set, "output");
  if (inputs.size() != imported.inputs.size()) {
    return data_set.filename().string() + " has " + std::to_string(inputs.size()) + " inputs, the model " +
           std::to_string(imported.inputs.size());
  }
  Graph graph = imported;
  std::map<int, const Tensor*> by_id;  // graph input id -> its test value (by name, else position)
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const int named = inputs[i].name.empty() ? kNoValue : graph.find_value(inputs[i].name);
    const bool is_input = std::find(graph.inputs.begin(), graph.inputs.end(), named) != graph.inputs.end();
    by_id[is_input ? named : graph.inputs[i]] = &inputs[i].tensor;
  }
  freeze_build_time_inputs(graph, by_id);
  BuildOptions options;
  options.backend = "ref";
  std::vector<Tensor> runtime_inputs;
  for (int id : graph.inputs) {
    const Shape& shape = by_id.at(id)->shape();
    // As in ONNX's runner the data decides: a few 1.12 models declare shapes their data lacks.
    if (!shape_fits(graph.value(id).shape, shape)) graph.value(id).shape.clear();
    options.input_shapes[graph.value(id).name] = shape;
    runtime_inputs.push_back(*by_id.at(id));
  }
  const auto engine = Engine::create(build_plan(std::move(graph), options));
  const std::vector<Tensor> outputs = engine->create_context()->run(runtime_inputs);
  if (outputs.size() != expected.size()) {
    return "the model gives " + std::to_string(outputs.size()) + " outputs, the test expects " + std::to_string(expected.size());
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const std::string problem = compare(outputs[i], expected[i].tensor);
    if (!problem.empty()) return "output " + std::to_string(i) + " ('" + engine->outputs()[i].name + "'): " + problem;
  }
  return "";
}

}  // namespace

fs::path node_test_dir() {
  const char* env = std::getenv("DETSTREAM_ONNX_NODE_DIR");
  return env && *env ? fs::path(env) : fs::path("/usr/share/libonnx-testdata/data/node");
}

std::vector<std::string> discover_cases(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

CaseOps case_ops(const fs::path& case_dir) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(read_bytes(case_dir / "model.onnx"))) throw Error((case_dir / "model.onnx").string() + ": not a model");
  CaseOps ops;
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") ops.opset = static_cast<int>(entry.version());
  }
  std::set<std::string> types, unsupported;
  for (const auto& node : model.graph().node()) {
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    const std::string name = default_domain ? node.op_type() : node.domain() + ":" + node.op_type();
    types.insert(name);
    if (name == "Constant") continue;  // the importer folds Constant nodes into values
    const OpSchema* schema = default_domain ? find_op_schema(node.op_type()) : nullptr;
    if (!schema || ops.opset < schema->min_opset) unsupported.insert(name);
  }
  ops.op_types.assign(types.begin(), types.end());
  ops.unsupported.assign(unsupported.begin(), unsupported.end());
  return ops;
}

CaseResult run_case(const fs::path& case_dir) {
  CaseResult result;
  try {
    const Graph graph = onnx::import_model_file((case_dir / "model.onnx").string());
    for (const fs::path& set : data_sets(case_dir)) {
      ++result.data_sets;
      result.message = run_data_set(graph, set);
      if (!result.message.empty()) {
        result.message = set.filename().string() + ": " + result.message;
        return result;
      }
    }
    if (result.data_sets == 0) {
      result.message = "no test_data_set_* directory";
      return result;
    }
    result.passed = true;
  } catch (const std::exception& e) {
    result.message = e.what();
  }
  return result;
}

}  // namespace detstream::inference::onnx_node
