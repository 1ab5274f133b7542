// Plan cache: build an ONNX model once, keep the plan beside the model (or in a cache directory),
// and rebuild when the model's bytes, the build options or the machine's compatibility key
// change. A cache file that is corrupt or stale is rebuilt, never trusted. Safe against
// concurrent writers (write to a temporary file, then rename).
#pragma once

#include <functional>
#include <string>

#include "inference/builder/builder.h"
#include "inference/plan/plan.h"

namespace detstream::inference {

struct PlanCacheOptions {
  std::string cache_dir;  // "" = the model's directory (falls back to a temp dir if unwritable)
  bool enabled = true;
  // Receives one-line notes (building, a corrupt or stale cache file being rebuilt, a cache that
  // cannot be written). Empty = print them to stderr.
  std::function<void(const std::string&)> log;
};

struct CachedPlan {
  Plan plan;
  std::string path;       // where the plan is (or would have been) cached
  bool rebuilt = false;   // true when this call ran the builder
};

// Every build option in one canonical line; stored in a plan's build info as "options" and
// compared on reuse (two option sets make the same plan from the same bytes iff equal).
std::string build_options_text(const BuildOptions& options);

CachedPlan load_or_build_plan(const std::string& onnx_path, const BuildOptions& options,
                              const PlanCacheOptions& cache = {});

}  // namespace detstream::inference
