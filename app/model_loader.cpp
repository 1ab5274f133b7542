#include "app/model_loader.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <thread>

#include "inference/backend.h"
#include "inference/core/error.h"
#include "inference/plan/plan_cache.h"
#include "inference/plan/plan_format.h"

namespace detstream::app {

namespace {

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  std::string list = inference::available_backends();
  for (std::size_t start = 0; start <= list.size();) {
    const std::size_t end = std::min(list.find(", ", start), list.size());
    names.push_back(list.substr(start, end - start));
    start = end + 2;
  }
  return names;
}

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// A plan's shapes are fixed when it is built: a --batch or --imgsz it was not built for is an
// error, not something to ignore silently.
void check_plan_fits(const inference::Plan& plan, const ModelOptions& options) {
  const auto& graph = plan.graph;
  if (graph.inputs.empty()) return;
  const inference::Shape& shape = graph.value(graph.inputs.front()).shape;
  const std::string rebuild = ": rebuild it with `detstream build` for that size, or pass the .onnx model";
  if (options.batch != 1 && !shape.empty() && shape[0] != options.batch) {
    throw inference::Error("plan '" + options.model + "' was built for batch " + std::to_string(shape[0]) + ", not " +
                           std::to_string(options.batch) + rebuild);
  }
  if (options.imgsz > 0 && shape.size() == 4 && (shape[2] != options.imgsz || shape[3] != options.imgsz)) {
    throw inference::Error("plan '" + options.model + "' was built for input " + inference::to_string(shape) +
                           ", not --imgsz " + std::to_string(options.imgsz) + rebuild);
  }
}

}  // namespace

std::size_t parse_byte_size(const std::string& text) {
  const auto refuse = [&](const std::string& why) -> std::size_t {
    throw std::invalid_argument("'" + text + "' is not a size (" + why +
                                "): give bytes or a whole number with K, M, G or T (powers of 1024), e.g. 64M or 1G");
  };
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const std::size_t digits_begin = i;
  std::uint64_t value = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    const unsigned digit = static_cast<unsigned>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return refuse("too large");
    value = value * 10 + digit;
  }
  if (i == digits_begin) return refuse("no number");
  std::string suffix;
  for (; i < text.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  }
  int shift = 0;
  if (!suffix.empty() && std::string("KMGT").find(suffix[0]) != std::string::npos) {
    shift = 10 * (1 + static_cast<int>(std::string("KMGT").find(suffix[0])));
    suffix.erase(0, 1);
    if (suffix == "IB" || suffix == "B") suffix.clear();
  } else if (suffix == "B") {
    suffix.clear();
  }
  if (!suffix.empty()) return refuse("unknown unit");
  if (shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return refuse("too large");
  const std::uint64_t bytes = value << shift;
  if (bytes > std::numeric_limits<std::size_t>::max()) return refuse("too large");
  return static_cast<std::size_t>(bytes);
}

void add_workspace_option(CLI::App& command, std::string& workspace) {
  command
      .add_option("--workspace", workspace,
                  "The most scratch memory one layer's tactic may use, e.g. 64M, 1G or bytes (default and 0: the "
                  "backend's own limit; the cuda backend's is 256M); recorded in the plan")
      ->type_name("SIZE")
      ->check(CLI::Validator(
          [](std::string& text) {
            try {
              (void)parse_byte_size(text);
              return std::string();
            } catch (const std::invalid_argument& e) {
              return std::string(e.what());
            }
          },
          ""));
}

void add_target_options(CLI::App& command, ModelOptions& options) {
  command
      .add_option("--backend", options.backend,
                  "Where to run: " + inference::available_backends() + " (ref = plain C++ reference, slow)")
      ->check(CLI::IsMember(backend_names()))
      ->capture_default_str();
  command
      .add_option("--precision", options.precision,
                  "Compute precision: fp32, bf16 (CPUs with AVX512-BF16/AMX) or fp16 (GPU)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
  command
      .add_option("--imgsz", options.imgsz,
                  "Square input size for models exported with dynamic=True (default: the model's own imgsz)")
      ->check(CLI::NonNegativeNumber);
  add_workspace_option(command, options.workspace);
}

void add_model_options(CLI::App& command, ModelOptions& options) {
  command
      .add_option("--model,-m", options.model,
                  "An ONNX export (.onnx: built into a plan once and cached) or a plan from `detstream build` (.plan)")
      ->required()
      ->check(CLI::ExistingFile);
  add_target_options(command, options);
  command.add_option("--batch", options.batch, "Images per inference (dynamic-batch models, or the model's own batch)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--threads", options.threads, "CPU threads for inference (0 = one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--cache-dir", options.cache_dir,
                     "Where built plans of .onnx models are cached (default: next to the model, or a per-user temp "
                     "dir when that is read-only)");
  command.add_flag("--no-cache", options.no_cache, "Always build .onnx models from scratch; read and write no cache");
  command.add_option("--timing-cache", options.timing_cache,
                     "cuda: file of conv tactic timings, read and updated when the engine is built, so a rebuild "
                     "skips timing layers it has seen on this GPU (created when missing)");
}

inference::BuildOptions to_build_options(const ModelOptions& options) {
  inference::BuildOptions build;
  build.backend = options.backend;
  build.precision = inference::parse_precision(options.precision);
  build.batch = {options.batch, options.batch, options.batch};
  if (options.imgsz > 0) build.image_size = std::make_pair<std::int64_t, std::int64_t>(options.imgsz, options.imgsz);
  if (!options.workspace.empty()) build.workspace_limit_bytes = parse_byte_size(options.workspace);
  return build;
}

std::shared_ptr<const inference::Engine> load_engine(const ModelOptions& options) {
  // The cuda backend chooses tactics when the engine is created and takes the cache's path from
  // the environment (inference/cuda/timing_cache.h), which keeps it out of the backend interface.
  if (!options.timing_cache.empty()) ::setenv("DETSTREAM_CUDA_TIMING_CACHE", options.timing_cache.c_str(), 1);
  const std::string ext = lower_extension(options.model);
  if (ext == ".plan") {
    inference::Plan plan = inference::load_plan(options.model);
    check_plan_fits(plan, options);
    // Tactics are chosen when the engine is made, so a --workspace given now replaces the plan's.
    if (!options.workspace.empty()) plan.workspace_limit_bytes = parse_byte_size(options.workspace);
    return inference::Engine::create(std::move(plan), options.threads);
  }
  if (ext == ".onnx") {
    inference::PlanCacheOptions cache;
    cache.cache_dir = options.cache_dir;
    cache.enabled = !options.no_cache;
    inference::CachedPlan cached = inference::load_or_build_plan(options.model, to_build_options(options), cache);
    return inference::Engine::create(std::move(cached.plan), options.threads);
  }
  throw inference::Error("don't know how to load '" + options.model + "' (extension '" + ext +
                         "'): give an ONNX export (.onnx) or a plan written by `detstream build` (.plan)");
}

int pipeline_inference_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? static_cast<int>(cores) - 1 : 1;
}

}  // namespace detstream::app
