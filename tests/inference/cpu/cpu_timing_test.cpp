// Not a test: the cpu backend's timing tool, disabled by default. Run it by hand on a quiet
// machine:  inference_tests --gtest_also_run_disabled_tests --gtest_filter='*CpuTiming*'
// It prints yolov8n 640 batch-1 median latency (fp32 and bf16, 20 runs after warm-up) and the
// ten slowest nodes from a profiled run. DETSTREAM_CPU_THREADS overrides the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "support/shared_data.h"
#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

void time_model(const std::string& model, Precision precision) {
  BuildOptions options;
  options.backend = "cpu";
  options.precision = precision;
  const char* threads = std::getenv("DETSTREAM_CPU_THREADS");
  const auto engine = Engine::create(build_plan_from_onnx(model, options), threads ? std::atoi(threads) : 0);
  auto context = engine->create_context();
  const Shape& shape = engine->inputs()[0].shape;
  Tensor input = Tensor::from_float(pseudo_random(static_cast<std::size_t>(element_count(shape)), 3, 0.5f), shape);
  Tensor output(DataType::kFloat32, engine->outputs()[0].shape);
  const std::vector<ConstTensorView> in{input.view()};
  const std::vector<TensorView> out{output.view()};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(context->execute(in, out).is_ok());
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(context->execute(in, out).is_ok());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s %s: median %.2f ms (min %.2f, max %.2f), context memory %.1f MiB\n", model.c_str(),
              std::string(to_string(precision)).c_str(), ms[ms.size() / 2], ms.front(), ms.back(),
              static_cast<double>(engine->context_memory_bytes()) / (1 << 20));
  context->enable_profiling(true);
  const Graph& graph = engine->plan().graph;
  std::vector<double> total(graph.nodes.size(), 0.0);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(context->execute(in, out).is_ok());
    const auto times = context->last_node_times_ms();
    for (std::size_t n = 0; n < times.size(); ++n) total[n] += times[n] / 10.0;
  }
  std::vector<std::size_t> order(total.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return total[a] > total[b]; });
  for (std::size_t i = 0; i < std::min<std::size_t>(10, order.size()); ++i) {
    const Node& node = graph.nodes[order[i]];
    std::printf("  %6.2f ms  %-8s %-9s %s %s\n", total[order[i]], node.op_type.c_str(), node.impl.c_str(),
                node.name.c_str(), to_string(graph.value(node.outputs[0]).shape).c_str());
  }
}

TEST(CpuTiming, DISABLED_Yolov8n640MedianLatency) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  time_model(model, Precision::kFp32);
  if (cpu::cpu_has_bf16()) time_model(model, Precision::kBf16);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
