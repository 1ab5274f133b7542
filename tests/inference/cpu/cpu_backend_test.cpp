// The cpu backend's contract: its compatibility key, the precisions it accepts, where it assigns
// nodes, and Engine::create refusing a plan whose key does not match this machine.
#include "inference/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include "inference/core/error.h"
#include "inference/cpu/cpu_engine.h"
#include "inference/cpu/dnnl_platform.h"
#include "test_graph.h"

namespace detstream::inference::cpu_test {
namespace {

Graph small_graph() {
  TestGraph g;
  const int x = g.input("x", {1, 3, 16, 12});
  const int y = g.conv(x, 3, 8, 3, 2);
  g.output(g.op("Identity", {g.conv(y, 8, 4, 1)}));
  return g.graph;
}

TEST(CpuBackend, CompatibilityKeyNamesIsaOneDnnVersionAndPrecision) {
  const Backend& backend = backend_named("cpu");
  EXPECT_EQ(backend.name(), "cpu");
  const std::string key = backend.compatibility_key(Precision::kFp32);
  EXPECT_EQ(key, "cpu/" + cpu::effective_isa_name() + "/onednn-" + cpu::onednn_version() + "/fp32");
  EXPECT_EQ(cpu::onednn_version().rfind("2.", 0), 0u) << cpu::onednn_version();
  EXPECT_NE(backend.compatibility_key(Precision::kBf16), key);
}

TEST(CpuBackend, Fp32AlwaysFp16NeverBf16OnlyWithHardware) {
  const Backend& backend = backend_named("cpu");
  EXPECT_NO_THROW(backend.check_precision(Precision::kFp32));
  try {
    backend.check_precision(Precision::kFp16);
    FAIL() << "fp16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos) << e.what();
  }
  if (cpu::cpu_has_bf16()) {
    EXPECT_NO_THROW(backend.check_precision(Precision::kBf16));
  } else {
    try {
      backend.check_precision(Precision::kBf16);
      FAIL() << "bf16 accepted on a CPU without bf16";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("lacks bf16 support"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("fp32"), std::string::npos) << e.what();
    }
  }
}

TEST(CpuBackend, AssignsEveryNodeAtBuildTime) {
  const Plan plan = build(small_graph(), "cpu");
  EXPECT_EQ(plan.backend, "cpu");
  EXPECT_EQ(count_impl(plan, "cpu.dnnl", "Conv"), 2);
  EXPECT_EQ(count_impl(plan, "cpu.ref", "Identity"), 1);
  EXPECT_EQ(count_impl(plan, "cpu.dnnl") + count_impl(plan, "cpu.ref"), static_cast<int>(plan.graph.nodes.size()));
}

TEST(CpuBackend, MixedDnnlAndReferenceNodesMatchReference) {
  EXPECT_LE(cpu_vs_reference(small_graph()), kFp32Tolerance);
}

TEST(CpuBackend, EditedCompatibilityKeyIsRefusedWithRebuildAdvice) {
  Plan plan = build(small_graph(), "cpu");
  plan.compatibility_key = "cpu/avx2/onednn-2.6.3/fp32";
  if (plan.compatibility_key == backend_named("cpu").compatibility_key(Precision::kFp32)) {
    plan.compatibility_key = "cpu/avx512_core_amx/onednn-3.9.0/fp32";
  }
  try {
    Engine::create(std::move(plan));
    FAIL() << "a plan for another machine was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rebuild"), std::string::npos) << e.what();
  }
}

TEST(CpuBackend, PlanWithForeignImplementationIsRefused) {
  Plan plan = build(small_graph(), "cpu");
  plan.graph.nodes[0].impl = "cuda.cudnn";
  EXPECT_THROW(Engine::create(std::move(plan)), Error);
}

TEST(CpuBackend, Bf16PlanComputesInBf16InsideTheRegionAndF32AtItsEdges) {
  DETSTREAM_REQUIRE_BF16();
  const Plan plan = build(small_graph(), "cpu", Precision::kBf16);
  const cpu::CpuEngine engine(plan, 1);
  const cpu::Program& program = engine.program();
  int bf16_convs = 0;
  for (const cpu::Step& step : program.steps) {
    if (step.node < 0 || !step.primitive ||
        step.primitive->get_kind() != dnnl::primitive::kind::convolution)
      continue;
    for (const auto& [arg, slot] : step.args)
      if (arg == DNNL_ARG_DST) bf16_convs += program.slots[static_cast<std::size_t>(slot)].dtype == DataType::kBFloat16;
  }
  EXPECT_EQ(bf16_convs, 2);
  // The reference node (Identity) and the graph output see float32.
  for (const cpu::Step& step : program.steps) {
    if (step.schema) {
      for (int slot : step.inputs) EXPECT_EQ(program.slots[static_cast<std::size_t>(slot)].dtype, DataType::kFloat32);
    }
  }
  EXPECT_EQ(program.slots[static_cast<std::size_t>(program.output_slots[0])].dtype, DataType::kFloat32);
}

}  // namespace
}  // namespace detstream::inference::cpu_test
