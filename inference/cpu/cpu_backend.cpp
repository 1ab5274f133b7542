#include "inference/cpu/cpu_backend.h"

#include "inference/core/error.h"
#include "inference/cpu/cpu_engine.h"
#include "inference/cpu/dnnl_platform.h"
#include "inference/cpu/node_support.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference {

namespace {

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }

  std::string compatibility_key(Precision precision) const override {
    return "cpu/" + cpu::effective_isa_name() + "/onednn-" + cpu::onednn_version() + "/" +
           std::string(to_string(precision));
  }

  void check_precision(Precision precision) const override {
    if (precision == Precision::kFp32) return;
    if (precision == Precision::kBf16) {
      if (cpu::cpu_has_bf16()) return;
      throw Error("this CPU lacks bf16 support (oneDNN dispatches to " + cpu::effective_isa_name() +
                  "; bf16 needs AVX512-BF16 or AMX): build the cpu plan with precision fp32");
    }
    throw Error("the cpu backend runs fp32 or bf16, not " + std::string(to_string(precision)) +
                ": build with precision fp32 (or bf16 on CPUs with AVX512-BF16/AMX)");
  }

  void assign(Graph& graph, Precision) const override {
    for (Node& node : graph.nodes) {
      if (cpu::lowers_to_dnnl(graph, node)) {
        node.impl = std::string(cpu::kDnnlImpl);
        continue;
      }
      if (!find_op_schema(node.op_type)) throw Error(graph.describe(node) + ": unsupported operator for the cpu backend");
      node.impl = std::string(cpu::kRefImpl);
    }
  }

  std::unique_ptr<BackendEngine> prepare(const Plan& plan, int threads) const override {
    return std::make_unique<cpu::CpuEngine>(plan, threads);
  }
};

}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace detstream::inference
