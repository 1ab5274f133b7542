// `detstream inspect`: what a model or plan is (inputs, outputs, metadata), how the builder
// changes it (layers before and after the passes, the pass log) and where a plan may run.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "app/command.h"
#include "app/graph_report.h"
#include "app/model_loader.h"
#include "inference/backend.h"
#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/plan/plan_format.h"

namespace detstream::app {

namespace {

using inference::Error;

struct InspectOptions {
  std::string path;
  ModelOptions target;  // backend, precision, imgsz for building an .onnx
  bool summary = false;
};

void section(const char* title) { std::printf("\n%s\n", title); }

// "yes", or why not.
std::string key_matches_here(const std::string& backend_name, inference::Precision precision, const std::string& key) {
  try {
    const std::string here = inference::backend_named(backend_name).compatibility_key(precision);
    if (here == key) return "yes";
    return "no: this machine is '" + here + "' (rebuild the plan here from the ONNX model)";
  } catch (const Error&) {
    return "no: backend '" + backend_name + "' is not in this build (" + inference::available_backends() + ")";
  }
}

void print_io_and_metadata(const inference::Graph& graph) {
  section("inputs");
  io_table(graph, graph.inputs).print();
  section("outputs");
  io_table(graph, graph.outputs).print();
  section("metadata");
  metadata_table(graph.metadata).print();
}

void inspect_onnx(const InspectOptions& o) {
  const inference::Graph imported = inference::onnx::import_model_file(o.path);
  const auto [weights, weight_bytes] = weight_totals(imported);
  TextTable summary;
  summary.add_row({"model", o.path});
  summary.add_row({"format", "ONNX, opset " + std::to_string(imported.opset) + ", " +
                                 format_bytes(std::filesystem::file_size(o.path))});
  summary.add_row({"nodes", std::to_string(imported.nodes.size())});
  summary.add_row({"weights", std::to_string(weights) + " tensors, " + format_bytes(weight_bytes)});
  summary.print();
  print_io_and_metadata(imported);

  const inference::BuildOptions options = to_build_options(o.target);
  inference::BuildReport report;
  std::optional<inference::Plan> plan;
  std::string build_error;
  try {
    plan = inference::build_plan(imported, options, &report);
  } catch (const Error& e) {
    build_error = e.what();
  }
  if (!o.summary) {
    section(("layers as imported (" + std::to_string(imported.nodes.size()) + ")").c_str());
    imported_layer_table(imported, plan ? &plan->graph : nullptr).print();
  }
  if (!plan) {
    throw Error("cannot build '" + o.path + "' for " + options.backend + " " +
                std::string(inference::to_string(options.precision)) + ": " + build_error);
  }
  section(("passes (building for " + plan->backend + " " + std::string(inference::to_string(plan->precision)) +
           ", batch " + std::to_string(plan->batch.opt) + ")")
              .c_str());
  pass_table(report, imported.nodes.size()).print();
  if (!o.summary) {
    section(("layers after the passes (" + std::to_string(plan->graph.nodes.size()) + ")").c_str());
    layer_table(plan->graph).print();
  }
  section("nodes per impl");
  impl_table(plan->graph).print();
  section("compatibility");
  TextTable key;
  key.add_row({"key", plan->compatibility_key});
  key.add_row({"matches this machine", key_matches_here(plan->backend, plan->precision, plan->compatibility_key)});
  key.print();
}

void inspect_plan(const InspectOptions& o) {
  const inference::PlanHeader header = inference::read_plan_header(o.path);
  const inference::Plan plan = inference::load_plan(o.path);
  const auto [weights, weight_bytes] = weight_totals(plan.graph);
  TextTable summary;
  summary.add_row({"plan", o.path});
  summary.add_row(
      {"format", "detstream plan v" + std::to_string(header.format_version) + ", " + format_bytes(header.file_size)});
  summary.add_row({"backend", plan.backend + " (" + std::string(inference::to_string(plan.precision)) + ")"});
  summary.add_row({"batch", std::to_string(plan.batch.opt) + " (min " + std::to_string(plan.batch.min) + ", max " +
                                std::to_string(plan.batch.max) + ")"});
  summary.add_row({"nodes", std::to_string(plan.graph.nodes.size())});
  summary.add_row({"weights", std::to_string(weights) + " tensors, " + format_bytes(weight_bytes)});
  summary.add_row({"model hash", plan.model_hash});
  for (const auto& [key, value] : header.build_info) summary.add_row({"build." + key, value});
  summary.print();
  print_io_and_metadata(plan.graph);
  if (!o.summary) {
    section(("layers (" + std::to_string(plan.graph.nodes.size()) + ")").c_str());
    layer_table(plan.graph).print();
  }
  section("nodes per impl");
  impl_table(plan.graph).print();
  section("compatibility");
  TextTable key;
  key.add_row({"key", plan.compatibility_key});
  key.add_row({"matches this machine", key_matches_here(plan.backend, plan.precision, plan.compatibility_key)});
  key.print();
}

void run_inspect(const InspectOptions& o) {
  const std::string ext = std::filesystem::path(o.path).extension().string();
  if (ext == ".plan") return inspect_plan(o);
  if (ext == ".onnx") return inspect_onnx(o);
  throw Error("don't know how to inspect '" + o.path + "' (extension '" + ext +
              "'): give an ONNX export (.onnx) or a plan written by `detstream build` (.plan)");
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* command = app.add_subcommand(
      "inspect",
      "Show a model's or plan's inputs, outputs, metadata, layers before/after the passes and compatibility");
  command->add_option("file", options->path, "An ONNX export (.onnx) or a plan (.plan)")
      ->required()
      ->check(CLI::ExistingFile);
  add_target_options(*command, options->target);
  command->add_option("--batch", options->target.batch, "Batch to build an .onnx for")->check(CLI::PositiveNumber);
  command->add_flag("--summary", options->summary, "Leave out the layer lists");
  command->footer(
      "For an .onnx, inspect builds it in memory (with --backend/--precision/--imgsz/--batch) to show\n"
      "the passes; it writes nothing.");
  command->callback([options] { run_inspect(*options); });
}

}  // namespace detstream::app
