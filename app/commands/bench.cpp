// `detstream bench`: trtexec-style latency and throughput of one engine on a fixed pseudo-random
// input, optionally with a per-layer profile. The timed loop calls ExecutionContext::execute on
// buffers bound once, so it measures the engine and nothing else (no pre/post-processing, no
// allocation). Its JSON has the same fields as the ONNX Runtime peer (bench/ort/ort_bench.js),
// which fills its input from the same generator, so bench/run_cpu_bench.sh can put them side by side.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/command.h"
#include "app/latency_stats.h"
#include "app/model_loader.h"
#include "inference/core/error.h"
#include "inference/runtime/engine.h"

namespace detstream::app {

namespace {

using inference::ConstTensorView;
using inference::Engine;
using inference::Error;
using inference::ExecutionContext;
using inference::Tensor;
using inference::TensorView;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kProfileRowsShown = 25;

struct BenchOptions {
  ModelOptions model;
  int warmup = 10;
  int iterations = 100;
  double duration_s = 0.0;  // 0: exactly `iterations`; else at least this long (and >= iterations)
  std::string json_path;
  bool profile = false;
};

struct MachineInfo {
  std::string cpu_model = "unknown";
  unsigned cores = 0;
};

// The first "model name" line of /proc/cpuinfo (Linux); "unknown" elsewhere.
MachineInfo describe_machine() {
  MachineInfo info;
  info.cores = std::thread::hardware_concurrency();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) info.cpu_model = line.substr(line.find_first_not_of(' ', colon + 1));
    break;
  }
  return info;
}

// xorshift32 from a fixed seed, uniform in [0, 1) with 24-bit resolution (exact in float and in a
// JavaScript double): ort_bench.js produces the identical sequence, so both engines see the same
// bytes. Not zeros, because zeros can flatter kernels (denormal-free, sparse-friendly).
class InputPattern {
 public:
  float next_unit() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return static_cast<float>(state_ >> 8) * (1.0f / 16777216.0f);
  }
  std::uint8_t next_byte() { return static_cast<std::uint8_t>(next_unit() * 256.0f); }

 private:
  std::uint32_t state_ = 0x2545F491u;
};

// Inputs and outputs allocated once, with the views execute() takes.
struct Bindings {
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  std::vector<ConstTensorView> input_views;
  std::vector<TensorView> output_views;
};

void fill_input(Tensor& tensor, const std::string& name, InputPattern& pattern) {
  using inference::DataType;
  if (tensor.dtype() == DataType::kFloat32) {
    float* data = tensor.data<float>();
    for (std::int64_t i = 0; i < tensor.count(); ++i) data[i] = pattern.next_unit();
  } else if (tensor.dtype() == DataType::kUInt8) {
    auto* data = tensor.data<std::uint8_t>();
    for (std::int64_t i = 0; i < tensor.count(); ++i) data[i] = pattern.next_byte();
  } else {
    throw Error("bench feeds float32 or uint8 inputs, but input '" + name + "' is " +
                std::string(inference::to_string(tensor.dtype())) + ": benchmark this model with a custom harness");
  }
}

Bindings bind_buffers(const Engine& engine) {
  Bindings bindings;
  InputPattern pattern;
  for (const auto& desc : engine.inputs()) {
    bindings.inputs.emplace_back(desc.dtype, desc.shape);
    fill_input(bindings.inputs.back(), desc.name, pattern);
  }
  for (const auto& desc : engine.outputs()) bindings.outputs.emplace_back(desc.dtype, desc.shape);
  for (const Tensor& t : bindings.inputs) bindings.input_views.push_back(t.view());
  for (Tensor& t : bindings.outputs) bindings.output_views.push_back(t.view());
  return bindings;
}

void execute_once(ExecutionContext& context, const Bindings& bindings) {
  if (inference::Status s = context.execute(bindings.input_views, bindings.output_views); !s) {
    throw Error("inference failed during bench: " + s.message());
  }
}

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Per-iteration latencies (ms) after `warmup` untimed runs.
std::vector<double> time_iterations(ExecutionContext& context, const Bindings& bindings, const BenchOptions& options) {
  for (int i = 0; i < options.warmup; ++i) execute_once(context, bindings);
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(options.iterations));
  const auto loop_start = Clock::now();
  const double min_total_ms = options.duration_s * 1000.0;
  while (static_cast<int>(samples.size()) < options.iterations || elapsed_ms(loop_start) < min_total_ms) {
    const auto start = Clock::now();
    execute_once(context, bindings);
    samples.push_back(elapsed_ms(start));
  }
  return samples;
}

struct LayerTime {
  std::string name;
  std::string op_type;
  std::string impl;
  double mean_ms = 0.0;
  double percent = 0.0;
};

// Mean per-node time over `iterations` profiled runs (a separate pass, so that the latency figures
// above carry no profiling overhead), sorted slowest first. Empty when the backend reports no
// per-node times.
std::vector<LayerTime> profile_layers(ExecutionContext& context, const Bindings& bindings, int iterations) {
  const auto& nodes = context.engine().plan().graph.nodes;
  std::vector<double> sums(nodes.size(), 0.0);
  context.enable_profiling(true);
  for (int i = 0; i < iterations; ++i) {
    execute_once(context, bindings);
    const auto times = context.last_node_times_ms();
    if (times.size() != nodes.size()) return {};
    for (std::size_t n = 0; n < times.size(); ++n) sums[n] += times[n];
  }
  context.enable_profiling(false);

  double total = 0.0;
  for (double s : sums) total += s;
  std::vector<LayerTime> layers;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    layers.push_back({nodes[n].name, nodes[n].op_type, nodes[n].impl, sums[n] / iterations,
                      total > 0.0 ? 100.0 * sums[n] / total : 0.0});
  }
  std::stable_sort(layers.begin(), layers.end(), [](const LayerTime& a, const LayerTime& b) { return a.mean_ms > b.mean_ms; });
  return layers;
}

struct OpTypeTime {
  std::string op_type;
  int nodes = 0;
  double mean_ms = 0.0;
  double percent = 0.0;
};

std::vector<OpTypeTime> group_by_op_type(const std::vector<LayerTime>& layers) {
  std::map<std::string, OpTypeTime> groups;
  for (const LayerTime& layer : layers) {
    OpTypeTime& group = groups[layer.op_type];
    group.op_type = layer.op_type;
    group.nodes += 1;
    group.mean_ms += layer.mean_ms;
    group.percent += layer.percent;
  }
  std::vector<OpTypeTime> sorted;
  for (auto& [op, group] : groups) sorted.push_back(group);
  std::sort(sorted.begin(), sorted.end(), [](const OpTypeTime& a, const OpTypeTime& b) { return a.mean_ms > b.mean_ms; });
  return sorted;
}

// Everything the report and the JSON need, gathered once.
struct BenchResult {
  std::string model;
  std::string backend;
  std::string precision;
  int batch = 1;
  int threads = 0;
  int warmup = 0;
  double load_ms = 0.0;
  double measured_s = 0.0;
  std::size_t context_memory_bytes = 0;
  std::vector<inference::TensorDesc> inputs;
  LatencySummary latency;
  double throughput = 0.0;
  MachineInfo machine;
  std::vector<LayerTime> layers;
  bool profiled = false;
};

std::string describe_inputs(const std::vector<inference::TensorDesc>& inputs) {
  std::string text;
  for (const auto& desc : inputs) {
    if (!text.empty()) text += ", ";
    text += desc.name + " " + std::string(inference::to_string(desc.dtype)) + " " + inference::to_string(desc.shape);
  }
  return text;
}

void print_profile(const std::vector<LayerTime>& layers) {
  if (layers.empty()) {
    std::printf("\nProfile: this backend reports no per-node times\n");
    return;
  }
  std::printf("\nPer-layer profile (mean over profiled runs, slowest %zu of %zu nodes):\n",
              std::min(kProfileRowsShown, layers.size()), layers.size());
  std::printf("  %-44s %-18s %-14s %10s %7s\n", "node", "op", "impl", "mean ms", "%");
  for (std::size_t i = 0; i < layers.size() && i < kProfileRowsShown; ++i) {
    const LayerTime& l = layers[i];
    std::printf("  %-44.44s %-18.18s %-14.14s %10.4f %6.2f%%\n", l.name.c_str(), l.op_type.c_str(), l.impl.c_str(),
                l.mean_ms, l.percent);
  }
  std::printf("By op type:\n");
  for (const OpTypeTime& g : group_by_op_type(layers)) {
    std::printf("  %-18s %4d nodes %10.4f ms %6.2f%%\n", g.op_type.c_str(), g.nodes, g.mean_ms, g.percent);
  }
}

void print_report(const BenchResult& r) {
  std::printf("detstream bench: %s\n", r.model.c_str());
  std::printf("  backend %s, precision %s, batch %d, threads %d\n", r.backend.c_str(), r.precision.c_str(), r.batch,
              r.threads);
  std::printf("  inputs: %s\n", describe_inputs(r.inputs).c_str());
  std::printf("  engine ready in %.1f ms (build, cached-plan or .plan load), activation memory %.1f MiB\n", r.load_ms,
              static_cast<double>(r.context_memory_bytes) / (1024.0 * 1024.0));
  std::printf("  machine: %s, %u cores\n", r.machine.cpu_model.c_str(), r.machine.cores);
  std::printf("  warmup %d, measured %zu iterations in %.2f s\n", r.warmup, r.latency.count, r.measured_s);
  std::printf("Latency (ms): min %.3f  median %.3f  mean %.3f  p99 %.3f  max %.3f\n", r.latency.min_ms,
              r.latency.median_ms, r.latency.mean_ms, r.latency.p99_ms, r.latency.max_ms);
  std::printf("Throughput: %.2f img/s (batch %d x 1000 / mean latency)\n", r.throughput, r.batch);
  if (r.profiled) print_profile(r.layers);
}

nlohmann::json profile_json(const std::vector<LayerTime>& layers) {
  nlohmann::json nodes = nlohmann::json::array();
  double total = 0.0;
  for (const LayerTime& l : layers) {
    nodes.push_back({{"name", l.name}, {"op", l.op_type}, {"impl", l.impl}, {"mean_ms", l.mean_ms}, {"percent", l.percent}});
    total += l.mean_ms;
  }
  nlohmann::json by_op = nlohmann::json::array();
  for (const OpTypeTime& g : group_by_op_type(layers)) {
    by_op.push_back({{"op", g.op_type}, {"nodes", g.nodes}, {"mean_ms", g.mean_ms}, {"percent", g.percent}});
  }
  return {{"available", !layers.empty()}, {"total_ms", total}, {"nodes", nodes}, {"by_op", by_op}};
}

nlohmann::json result_json(const BenchResult& r) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& desc : r.inputs) {
    inputs.push_back({{"name", desc.name}, {"dtype", inference::to_string(desc.dtype)}, {"shape", desc.shape}});
  }
  nlohmann::json doc = {
      {"tool", "detstream"},
      {"model", r.model},
      {"backend", r.backend},
      {"precision", r.precision},
      {"batch", r.batch},
      {"threads", r.threads},
      {"warmup", r.warmup},
      {"iterations", r.latency.count},
      {"inputs", inputs},
      {"load_ms", r.load_ms},
      {"context_memory_bytes", r.context_memory_bytes},
      {"latency_ms",
       {{"min", r.latency.min_ms},
        {"median", r.latency.median_ms},
        {"mean", r.latency.mean_ms},
        {"p90", r.latency.p90_ms},
        {"p99", r.latency.p99_ms},
        {"max", r.latency.max_ms},
        {"stddev", r.latency.stddev_ms}}},
      {"throughput_img_s", r.throughput},
      {"machine", {{"cpu", r.machine.cpu_model}, {"cores", r.machine.cores}}},
  };
  if (r.profiled) doc["profile"] = profile_json(r.layers);
  return doc;
}

// Fails before the benchmark, not after minutes of it, when the JSON could not be written.
void check_json_destination(const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(parent)) {
    throw Error("cannot write the bench JSON to '" + path + "': directory '" + parent.string() + "' does not exist");
  }
}

// Temporary file + rename, so a reader never sees half a report.
void write_json(const std::string& path, const nlohmann::json& doc) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    if (!out) throw Error("cannot write the bench JSON to '" + path + "': check that its directory is writable");
    out << doc.dump(2) << '\n';
    if (!out) throw Error("failed writing the bench JSON to '" + temporary + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw Error("cannot move the bench JSON into place at '" + path + "': " + error.message());
}

int batch_of(const Engine& engine) {
  const auto& inputs = engine.inputs();
  if (!inputs.empty() && !inputs.front().shape.empty() && inputs.front().shape.front() > 0) {
    return static_cast<int>(inputs.front().shape.front());
  }
  return engine.plan().batch.opt;
}

void run_bench(const BenchOptions& options) {
  if (!std::filesystem::exists(options.model.model)) {
    throw Error("model file not found: '" + options.model.model + "' (pass an ONNX export or a .plan from detstream build)");
  }
  check_json_destination(options.json_path);
  BenchResult result;
  result.model = options.model.model;
  result.machine = describe_machine();
  result.warmup = options.warmup;

  const auto load_start = Clock::now();
  const std::shared_ptr<const Engine> engine = load_engine(options.model);
  result.load_ms = elapsed_ms(load_start);

  result.backend = engine->plan().backend;
  result.precision = std::string(inference::to_string(engine->plan().precision));
  result.batch = batch_of(*engine);
  result.threads = options.model.threads > 0 ? options.model.threads : static_cast<int>(result.machine.cores);
  result.inputs = engine->inputs();
  result.context_memory_bytes = engine->context_memory_bytes();

  const auto context = engine->create_context();
  const Bindings bindings = bind_buffers(*engine);
  const auto loop_start = Clock::now();
  const std::vector<double> samples = time_iterations(*context, bindings, options);
  result.measured_s = elapsed_ms(loop_start) / 1000.0;
  result.latency = summarize_latencies(samples);
  result.throughput = throughput_per_second(result.batch, result.latency.mean_ms);

  if (options.profile) {
    result.profiled = true;
    result.layers = profile_layers(*context, bindings, options.iterations);
  }
  print_report(result);
  if (!options.json_path.empty()) write_json(options.json_path, result_json(result));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand(
      "bench", "Measure an engine's latency and throughput (trtexec-style) on a fixed pseudo-random input");
  add_model_options(*command, options->model);
  command->add_option("--warmup", options->warmup, "Untimed runs before measuring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--iterations", options->iterations, "Timed runs (at least this many)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--duration-s", options->duration_s,
                      "Keep running until at least this many seconds have passed (and --iterations are done)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--json", options->json_path, "Also write the results as JSON to this file");
  command->add_flag("--profile", options->profile,
                    "Then profile each layer (a separate pass of --iterations runs) and print the slowest 25");
  command->footer(
      "Times ExecutionContext::execute alone: buffers are bound once and filled with a fixed pseudo-random\n"
      "pattern in [0,1) (the same one bench/ort/ort_bench.js uses), so pre/post-processing and copies are\n"
      "not included. Prints the build/load time, then latency min/median/mean/p99 in ms (percentiles\n"
      "interpolate linearly between ranks) and throughput = batch x 1000 / mean latency, in img/s.\n"
      "--json writes backend, precision, batch, threads, iterations, latency_ms{min,median,mean,p90,p99,max,\n"
      "stddev}, throughput_img_s, model, machine{cpu,cores} and, with --profile, every node's mean time\n"
      "(name, op, impl, mean_ms, percent) plus a by-op-type summary.\n"
      "Compare with ONNX Runtime on the same model: bench/run_cpu_bench.sh (see bench/README.md).");
  command->callback([options] { run_bench(*options); });
}

}  // namespace detstream::app
