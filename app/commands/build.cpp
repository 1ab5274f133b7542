// `detstream build`: ONNX model -> plan file, with a report of what the builder did.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/command.h"
#include "app/graph_report.h"
#include "app/model_loader.h"
#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/plan/plan_cache.h"
#include "inference/plan/plan_format.h"

namespace detstream::app {

namespace {

using inference::Error;

struct BuildCommandOptions {
  ModelOptions target;  // model, backend, precision, imgsz
  int batch = 0;        // 0: not given
  int min_batch = 0;
  int opt_batch = 0;
  int max_batch = 0;
  std::string output;
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string format_ms(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

// --batch N fixes all three; otherwise min defaults to 1, opt to min, max to opt.
inference::BatchProfile batch_profile(const BuildCommandOptions& o) {
  if (o.batch > 0) return {o.batch, o.batch, o.batch};
  inference::BatchProfile batch;
  batch.min = o.min_batch > 0 ? o.min_batch : 1;
  batch.opt = o.opt_batch > 0 ? o.opt_batch : batch.min;
  batch.max = o.max_batch > 0 ? o.max_batch : batch.opt;
  return batch;
}

std::string default_output(const std::string& model) {
  return std::filesystem::path(model).replace_extension(".plan").string();
}

void run_build(const BuildCommandOptions& o) {
  const std::string& model = o.target.model;
  if (std::filesystem::path(model).extension() != ".onnx") {
    throw Error("`detstream build` takes an ONNX model (.onnx), got '" + model +
                "' (a .plan is already built: inspect it with `detstream inspect`)");
  }
  inference::BuildOptions options = to_build_options(o.target);
  options.batch = batch_profile(o);
  const std::string output = o.output.empty() ? default_output(model) : o.output;

  const auto start = Clock::now();
  inference::Graph graph = inference::onnx::import_model_file(model);
  const std::size_t imported_nodes = graph.nodes.size();
  const double import_ms = ms_since(start);
  inference::BuildReport report;
  inference::Plan plan = inference::build_plan(std::move(graph), options, &report);
  plan.model_hash = inference::hash_file(model);
  const auto save_start = Clock::now();
  char build_ms[32];
  std::snprintf(build_ms, sizeof build_ms, "%.1f", report.build_ms);
  inference::save_plan(plan, output,
                       {{"options", inference::build_options_text(options)},
                        {"build_ms", build_ms},
                        {"source", std::filesystem::path(model).filename().string()}});
  const double save_ms = ms_since(save_start);

  std::printf("built %s -> %s\n", model.c_str(), output.c_str());
  TextTable summary;
  summary.add_row({"backend", plan.backend + " (" + std::string(inference::to_string(plan.precision)) + ")"});
  summary.add_row({"batch", std::to_string(plan.batch.opt) + " (min " + std::to_string(plan.batch.min) + ", max " +
                                std::to_string(plan.batch.max) + ")"});
  summary.add_row({"build time", format_ms(import_ms + report.build_ms + save_ms) + " (import " + format_ms(import_ms) +
                                     ", passes + assignment " + format_ms(report.build_ms) + ", save " +
                                     format_ms(save_ms) + ")"});
  summary.add_row({"plan size", format_bytes(std::filesystem::file_size(output))});
  summary.add_row({"nodes", std::to_string(imported_nodes) + " imported -> " + std::to_string(plan.graph.nodes.size()) +
                                " after passes"});
  summary.add_row({"compatibility", plan.compatibility_key});
  if (plan.workspace_limit_bytes > 0) summary.add_row({"workspace limit", format_bytes(plan.workspace_limit_bytes)});
  summary.print();
  std::printf("inputs\n");
  io_table(plan.graph, plan.graph.inputs).print();
  std::printf("outputs\n");
  io_table(plan.graph, plan.graph.outputs).print();
  std::printf("passes\n");
  pass_table(report, imported_nodes).print();
  std::printf("nodes per impl\n");
  impl_table(plan.graph).print();
}

}  // namespace

void add_build_command(CLI::App& app) {
  auto options = std::make_shared<BuildCommandOptions>();
  CLI::App* command =
      app.add_subcommand("build", "Build an ONNX model into a plan for this machine (like trtexec --saveEngine)");
  command->add_option("--model,-m", options->target.model, "The ONNX export to build (.onnx)")
      ->required()
      ->check(CLI::ExistingFile);
  add_target_options(*command, options->target);
  auto* batch =
      command->add_option("--batch", options->batch, "Build for exactly this batch size")->check(CLI::PositiveNumber);
  auto* min = command->add_option("--min-batch", options->min_batch, "Smallest batch the plan accepts")
                  ->check(CLI::PositiveNumber);
  auto* opt = command->add_option("--opt-batch", options->opt_batch, "Batch the plan is tuned and bound for")
                  ->check(CLI::PositiveNumber);
  auto* max = command->add_option("--max-batch", options->max_batch, "Largest batch the plan accepts")
                  ->check(CLI::PositiveNumber);
  batch->excludes(min)->excludes(opt)->excludes(max);
  command->add_option("--output,-o", options->output, "Plan file to write (default: the model's path with .plan)");
  command->footer(
      "The plan is only valid on machines with the same compatibility key (backend, CPU ISA or GPU arch,\n"
      "library versions, precision): `detstream inspect X.plan` shows it and whether it matches.");
  command->callback([options] { run_build(*options); });
}

}  // namespace detstream::app
