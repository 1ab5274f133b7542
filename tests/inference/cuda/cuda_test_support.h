// Shared helpers of the CUDA backend's tests: the GPU skip (with a visible message, so CI without
// a GPU compiles and skips these tests), random inputs, and running a hand-built graph on the
// reference backend or the cuda backend through the public Engine API.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "inference/cuda/cuda_backend.h"
#include "inference/ops/op_schema.h"
#include "inference/reference/reference_backend.h"
#include "inference/runtime/engine.h"

#define DETSTREAM_REQUIRE_CUDA_DEVICE()                                                                     \
  do {                                                                                                      \
    std::string why_no_gpu;                                                                                 \
    if (!::detstream::inference::cuda::device_available(&why_no_gpu)) {                                     \
      GTEST_SKIP() << "\n\n*** SKIPPED: needs a CUDA GPU (" << why_no_gpu << "); run it on the device machine ***\n"; \
    }                                                                                                       \
  } while (0)

namespace detstream::inference::testing {

// Sets (or, given nullptr, unsets) an environment variable for its scope: the backend reads its
// switches (DETSTREAM_CUDA_*) when an engine is built.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      unsetenv(name_);
    } else {
      setenv(name_, old_.c_str(), 1);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
};

inline Tensor random_tensor(const Shape& shape, unsigned seed, float low = -1.0f, float high = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(static_cast<std::size_t>(element_count(shape)));
  for (float& v : values) v = dist(rng);
  return Tensor::from_float(values, shape);
}

inline Plan plan_for(const Backend& backend, Graph graph, Precision precision) {
  Plan plan;
  plan.backend = std::string(backend.name());
  plan.precision = precision;
  plan.compatibility_key = backend.compatibility_key(precision);
  plan.graph = std::move(graph);
  backend.assign(plan.graph, precision);
  return plan;
}

// The reference backend's outputs; nullopt when an op of the graph has no reference kernel yet.
inline std::optional<std::vector<Tensor>> run_reference(const Graph& graph, const std::vector<Tensor>& inputs,
                                                        std::string* missing = nullptr) {
  for (const Node& node : graph.nodes) {
    if (!find_op_schema(node.op_type)) {
      if (missing) *missing = node.op_type;
      return std::nullopt;
    }
  }
  auto engine = Engine::create(plan_for(reference_backend(), graph, Precision::kFp32), 1);
  return engine->create_context()->run(inputs);
}

inline std::vector<Tensor> run_cuda(const Graph& graph, Precision precision, const std::vector<Tensor>& inputs) {
  auto engine = Engine::create(plan_for(cuda_backend(), graph, precision));
  return engine->create_context()->run(inputs);
}

}  // namespace detstream::inference::testing
