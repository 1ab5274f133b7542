#include "inference/builder/builder.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "inference/backend.h"
#include "inference/core/error.h"
#include "inference/graph/shape_inference.h"
#include "inference/onnx/importer.h"
#include "inference/passes/pass.h"

namespace detstream::inference {

namespace {

std::pair<std::int64_t, std::int64_t> metadata_image_size(const Graph& graph) {
  const auto it = graph.metadata.find("imgsz");
  if (it == graph.metadata.end()) return {640, 640};
  std::int64_t h = 0, w = 0;
  char bracket = 0, comma = 0;
  std::istringstream in(it->second);
  if (in >> bracket >> h >> comma >> w && h > 0 && w > 0) return {h, w};
  return {640, 640};
}

std::map<std::string, Shape> resolve_input_shapes(const Graph& graph, const BuildOptions& options) {
  std::map<std::string, Shape> shapes;
  const auto image = options.image_size ? *options.image_size : metadata_image_size(graph);
  for (int id : graph.inputs) {
    const Value& v = graph.value(id);
    if (options.input_shapes.count(v.name)) {
      shapes[v.name] = options.input_shapes.at(v.name);
      continue;
    }
    Shape shape = v.shape;
    if (shape.size() == 4) {
      if (shape[0] < 0 || shape[0] != options.batch.opt) shape[0] = options.batch.opt;
      if (shape[2] < 0 || options.image_size) shape[2] = image.first;
      if (shape[3] < 0 || options.image_size) shape[3] = image.second;
    }
    if (!is_static(shape)) {
      throw Error("input '" + v.name + "' has symbolic shape " + to_string(v.shape) + ": give its shape explicitly");
    }
    shapes[v.name] = shape;
  }
  return shapes;
}

void check_batch_profile(const BatchProfile& batch) {
  if (batch.min < 1 || batch.min > batch.opt || batch.opt > batch.max) {
    throw Error("batch profile must satisfy 1 <= min <= opt <= max, got min " + std::to_string(batch.min) + ", opt " +
                std::to_string(batch.opt) + ", max " + std::to_string(batch.max));
  }
}

}  // namespace

Plan build_plan(Graph graph, const BuildOptions& options, BuildReport* report) {
  const auto start = std::chrono::steady_clock::now();
  check_batch_profile(options.batch);
  const Backend& backend = backend_named(options.backend);
  backend.check_precision(options.precision);
  bind_input_shapes(graph, resolve_input_shapes(graph, options));
  for (const auto& pass : default_passes()) {
    const bool modified = pass->apply(graph);
    if (report) report->passes.push_back({std::string(pass->name()), modified, graph.nodes.size()});
  }
  backend.assign(graph, options.precision);
  Plan plan;
  plan.backend = std::string(backend.name());
  plan.precision = options.precision;
  plan.batch = options.batch;
  plan.workspace_limit_bytes = options.workspace_limit_bytes;
  plan.compatibility_key = backend.compatibility_key(options.precision);
  plan.graph = std::move(graph);
  if (report) report->build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return plan;
}

std::string hash_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot read '" + path + "'");
  std::uint64_t hash = 1469598103934665603ull;
  char buffer[1 << 16];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {
    for (std::streamsize i = 0; i < file.gcount(); ++i) {
      hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ull;
    }
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

Plan build_plan_from_onnx(const std::string& onnx_path, const BuildOptions& options, BuildReport* report) {
  Plan plan = build_plan(onnx::import_model_file(onnx_path), options, report);
  plan.model_hash = hash_file(onnx_path);
  return plan;
}

}  // namespace detstream::inference
