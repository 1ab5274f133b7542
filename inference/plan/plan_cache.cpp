#include "inference/plan/plan_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "inference/backend.h"
#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/plan/plan_format.h"

namespace detstream::inference {

namespace fs = std::filesystem;

namespace {

using Logger = std::function<void(const std::string&)>;

// The H x W the builder will bind for the first image-like input: the request, else the model's
// static size, else its metadata imgsz (mirrors the builder's rule, for the file name only; the
// cache's match is on the stored options, not on the name).
std::pair<std::int64_t, std::int64_t> image_size_for_name(const Graph& graph, const BuildOptions& options) {
  if (options.image_size) return *options.image_size;
  std::pair<std::int64_t, std::int64_t> size{640, 640};
  if (const auto it = graph.metadata.find("imgsz"); it != graph.metadata.end()) {
    std::int64_t h = 0, w = 0;
    char bracket = 0, comma = 0;
    std::istringstream in(it->second);
    if (in >> bracket >> h >> comma >> w && h > 0 && w > 0) size = {h, w};
  }
  for (int id : graph.inputs) {
    const Shape& shape = graph.value(id).shape;
    if (shape.size() != 4) continue;
    if (shape[2] > 0) size.first = shape[2];
    if (shape[3] > 0) size.second = shape[3];
    break;
  }
  return size;
}

}  // namespace

std::string build_options_text(const BuildOptions& options) {
  std::ostringstream out;
  out << "backend=" << options.backend << ";precision=" << to_string(options.precision)
      << ";batch=" << options.batch.min << "/" << options.batch.opt << "/" << options.batch.max << ";imgsz=";
  if (options.image_size) {
    out << options.image_size->first << "x" << options.image_size->second;
  } else {
    out << "model";
  }
  for (const auto& [name, shape] : options.input_shapes) out << ";input:" << name << "=" << to_string(shape);
  // Only when set, so that plans cached before the option existed still match.
  if (options.workspace_limit_bytes > 0) out << ";workspace=" << options.workspace_limit_bytes;
  return out.str();
}

namespace {

std::string cache_file_name(const std::string& onnx_path, const Graph& graph, const BuildOptions& options) {
  const auto [h, w] = image_size_for_name(graph, options);
  // Appends rather than `"-b" + std::to_string(...)`, which trips GCC 12's -Wrestrict false positive.
  std::ostringstream name;
  name << fs::path(onnx_path).stem().string() << '.' << options.backend << '-' << to_string(options.precision) << "-b"
       << options.batch.opt;
  if (options.batch.min != options.batch.opt || options.batch.max != options.batch.opt) {
    name << "-b" << options.batch.min << "to" << options.batch.max;
  }
  name << '-' << h << 'x' << w;
  if (!options.input_shapes.empty()) name << "-custom";
  if (options.workspace_limit_bytes > 0) name << "-ws" << options.workspace_limit_bytes;
  name << ".plan";
  return name.str();
}

// A per-user directory under the system temp dir, refused unless it is ours (another user could
// have planted it). Returns "" when it cannot be used.
fs::path user_temp_cache_dir(bool create) {
  const fs::path dir = fs::temp_directory_path() / ("detstream-plans-uid" + std::to_string(::getuid()));
  if (create) ::mkdir(dir.c_str(), 0700);
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) return create ? fs::path() : dir;
  if (!S_ISDIR(info.st_mode) || info.st_uid != ::getuid()) return {};
  return dir;
}

// Writable for us *and* not marked read-only: root may write anywhere, but a directory with no
// write bits (e.g. a shared, read-only model store) is not ours to fill with plans.
bool writable_directory(const fs::path& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return false;
  return (info.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0 && ::access(dir.c_str(), W_OK) == 0;
}

fs::path cache_directory(const std::string& onnx_path, const PlanCacheOptions& cache, const Logger& log) {
  if (!cache.cache_dir.empty()) {
    std::error_code ec;
    if (cache.enabled) fs::create_directories(cache.cache_dir, ec);
    if (ec) throw Error("cannot create the plan cache directory '" + cache.cache_dir + "': " + ec.message());
    return cache.cache_dir;
  }
  fs::path dir = fs::path(onnx_path).parent_path();
  if (dir.empty()) dir = ".";
  if (writable_directory(dir)) return dir;
  const fs::path fallback = user_temp_cache_dir(cache.enabled);
  if (fallback.empty() && cache.enabled) {
    log("cannot use a plan cache directory (" + dir.string() +
        " is not writable and the per-user temp dir is "
        "unsafe); the plan will not be cached (give --cache-dir)");
  }
  return fallback;
}

// Why the cached file cannot be reused, or "" when it matches.
std::string mismatch(const PlanHeader& header, const std::string& model_hash, const std::string& options_text,
                     const std::string& key) {
  if (header.compatibility_key != key)
    return "it was built for '" + header.compatibility_key + "', this machine is '" + key + "'";
  if (header.model_hash != model_hash) return "the model changed since it was built";
  const auto it = header.build_info.find("options");
  if (it == header.build_info.end() || it->second != options_text) return "it was built with other options";
  return "";
}

std::string describe_build(const std::string& onnx_path, const BuildOptions& options) {
  return fs::path(onnx_path).filename().string() + " (" + options.backend + ", " +
         std::string(to_string(options.precision)) + ", batch " + std::to_string(options.batch.opt) + ")";
}

}  // namespace

CachedPlan load_or_build_plan(const std::string& onnx_path, const BuildOptions& options,
                              const PlanCacheOptions& cache) {
  const Logger log =
      cache.log ? cache.log
                : Logger([](const std::string& note) { std::fprintf(stderr, "detstream: %s\n", note.c_str()); });
  const Backend& backend = backend_named(options.backend);  // unknown backend: fail before any work
  Graph graph = onnx::import_model_file(onnx_path);
  const std::string model_hash = hash_file(onnx_path);
  const std::string options_text = build_options_text(options);
  const std::string name = cache_file_name(onnx_path, graph, options);
  const fs::path dir = cache_directory(onnx_path, cache, log);

  CachedPlan result;
  result.path = dir.empty() ? std::string() : (dir / name).string();
  if (cache.enabled && !result.path.empty() && fs::exists(result.path)) {
    try {
      const PlanHeader header = read_plan_header(result.path);
      const std::string why = mismatch(header, model_hash, options_text, backend.compatibility_key(options.precision));
      if (why.empty()) {
        result.plan = load_plan(result.path);  // verifies the checksum and every section
        return result;
      }
      log("cached plan " + result.path + " is stale (" + why + "); rebuilding");
    } catch (const Error& e) {
      log("cached plan is unusable and will be rebuilt: " + std::string(e.what()));
    }
  }

  const bool caching = cache.enabled && !result.path.empty();
  log("building plan for " + describe_build(onnx_path, options) +
      (caching ? "; caching it at " + result.path : std::string("; not cached")));
  BuildReport report;
  result.plan = build_plan(std::move(graph), options, &report);
  result.plan.model_hash = model_hash;
  result.rebuilt = true;
  if (caching) {
    char build_ms[32];
    std::snprintf(build_ms, sizeof build_ms, "%.1f", report.build_ms);
    try {
      save_plan(
          result.plan, result.path,
          {{"options", options_text}, {"build_ms", build_ms}, {"source", fs::path(onnx_path).filename().string()}});
    } catch (const Error& e) {
      log(std::string(e.what()) + "; continuing without caching the plan");
    }
  }
  return result;
}

}  // namespace detstream::inference
