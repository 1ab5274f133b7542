#include "inference/cuda/cuda_backend.h"

#include <algorithm>

#include "inference/core/error.h"
#include "inference/cuda/cuda_check.h"
#include "inference/cuda/cuda_engine.h"
#include "inference/cuda/head_fusion.h"
#include "inference/ops/conv_geometry.h"
#include "inference/passes/dead_node_elimination.h"
#include "inference/passes/sibling_conv_merge.h"

namespace detstream::inference {

namespace cuda {

bool device_available(std::string* why) {
  int count = 0;
  const cudaError_t result = cudaGetDeviceCount(&count);
  if (result != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) *why = std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(result) + ")";
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device";
    return false;
  }
  return true;
}

EnqueueTiming time_enqueue(BackendContext& context, int warmup, int iterations) {
  auto* cuda_context = dynamic_cast<CudaContext*>(&context);
  if (!cuda_context) throw Error("time_enqueue needs a context of the cuda backend");
  return cuda_context->time(warmup, iterations);
}

namespace {

CudaContext& cuda_context_of(BackendContext& context, const char* what) {
  auto* cuda_context = dynamic_cast<CudaContext*>(&context);
  if (!cuda_context) throw Error(std::string(what) + " needs a context of the cuda backend");
  return *cuda_context;
}

}  // namespace

void* device_input(BackendContext& context, std::size_t index) {
  return cuda_context_of(context, "device_input").staging_address(index, true);
}

void* device_output(BackendContext& context, std::size_t index) {
  return cuda_context_of(context, "device_output").staging_address(index, false);
}

void enqueue(BackendContext& context, void* stream) {
  cuda_context_of(context, "enqueue").enqueue_on(static_cast<cudaStream_t>(stream));
}

std::vector<LayerProfile> profile_layers(BackendContext& context, int repeats) {
  auto* cuda_context = dynamic_cast<CudaContext*>(&context);
  if (!cuda_context) throw Error("profile_layers needs a context of the cuda backend");
  return cuda_context->profile_layers(repeats);
}

std::string describe_context(const BackendContext& context) {
  const auto* cuda_context = dynamic_cast<const CudaContext*>(&context);
  if (!cuda_context) throw Error("describe_context needs a context of the cuda backend");
  return cuda_context->describe();
}

}  // namespace cuda

namespace {

constexpr std::string_view kName = "cuda";

std::string version_text(int version, int major_unit, int minor_unit) {
  return std::to_string(version / major_unit) + "." + std::to_string(version % major_unit / minor_unit);
}

bool is_one_of(const std::string& op, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return op == n; });
}

void require(bool ok, const Graph& graph, const Node& node, const std::string& what) {
  if (!ok) throw Error(graph.describe(node) + ": " + what + " (cuda backend)");
}

bool constant_input(const Graph& graph, const Node& node, std::size_t index) {
  return node.has_input(index) && graph.value(node.inputs[index]).is_constant();
}

// Checks what the lowering and the layers rely on and returns the implementation name.
std::string implementation_for(const Graph& graph, const Node& node) {
  const std::string& op = node.op_type;
  for (int id : node.outputs) {
    if (id == kNoValue) continue;
    const Value& v = graph.value(id);
    require(v.dtype == DataType::kFloat32, graph, node, "output '" + v.name + "' is " + std::string(to_string(v.dtype)) + ", only float32 runs on the GPU");
    require(v.shape.size() <= 6, graph, node, "tensors of rank above 6 are not supported");
  }
  const Shape& x = graph.value(node.inputs[0]).shape;
  if (op == "Conv") {
    require(x.size() == 4, graph, node, "only 2-D convolutions are supported");
    require(constant_input(graph, node, 1), graph, node, "the weights must be constant");
    require(!node.has_input(2) || constant_input(graph, node, 2), graph, node, "the bias must be constant");
    const Shape& w = graph.value(node.inputs[1]).shape;
    const ops::WindowGeometry g = ops::resolve_window(node, x, {w[2], w[3]}, false);
    require(g.pads_begin == g.pads_end, graph, node, "asymmetric padding is not supported by cuDNN");
    return "cuda.conv";  // the kernel and its tile are chosen per layer at prepare(), by timing
  }
  if (is_one_of(op, {"Add", "Sub", "Mul", "Div", "Sigmoid", "Relu"})) return "cuda.kernel.elementwise";
  if (op == "MaxPool") {
    require(x.size() == 4, graph, node, "only 2-D pooling is supported");
    require(node.outputs.size() == 1 || node.outputs[1] == kNoValue, graph, node, "the Indices output is not supported");
    return "cuda.kernel.maxpool";
  }
  if (op == "Resize") {
    require(node.attr_string("mode", "nearest") == "nearest", graph, node, "only mode 'nearest' is supported");
    const Shape& y = graph.value(node.outputs[0]).shape;
    require(x.size() == 4 && y[0] == x[0] && y[1] == x[1], graph, node, "only spatial resizing of N x C x H x W tensors is supported");
    return "cuda.kernel.resize_nearest";
  }
  if (op == "Softmax") {
    const int axis = normalize_axis(node.attr_int("axis", node.opset >= 13 ? -1 : 1), x.size());
    require(node.opset >= 13 || axis + 1 == static_cast<int>(x.size()), graph, node,
            "before opset 13 only a softmax over the last axis is supported");
    return "cuda.kernel.softmax";
  }
  if (op == "Concat") return "cuda.concat";
  if (op == "Slice") {
    for (std::size_t i = 1; i < node.inputs.size(); ++i) {
      require(!node.has_input(i) || constant_input(graph, node, i), graph, node, "starts, ends, axes and steps must be constant");
    }
    return "cuda.view";
  }
  if (is_one_of(op, {"Split", "Transpose", "Identity"})) return "cuda.view";
  if (is_one_of(op, {"Reshape", "Flatten", "Squeeze", "Unsqueeze"})) return "cuda.reshape";
  throw Error(graph.describe(node) + ": the cuda backend has no implementation of this operator (it runs Conv, Add, Sub, "
              "Mul, Div, Sigmoid, Relu, MaxPool, Resize, Softmax, Concat, Split, Slice, Transpose, Reshape, Flatten, "
              "Squeeze, Unsqueeze, Identity)");
}

class CudaBackend final : public Backend {
 public:
  std::string_view name() const override { return kName; }

  std::string compatibility_key(Precision precision) const override {
    std::string arch = "no-device";
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess && count > 0) {
      int device = 0, major = 0, minor = 0;
      if (cudaGetDevice(&device) == cudaSuccess &&
          cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
          cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess) {
        arch = "sm_" + std::to_string(major) + std::to_string(minor);
      }
    }
    (void)cudaGetLastError();
    int runtime = 0;
    (void)cudaRuntimeGetVersion(&runtime);
    const int cudnn = static_cast<int>(cudnnGetVersion());  // 9.x: major*10000 + minor*100 + patch
    return "cuda/" + arch + "/cuda-" + version_text(runtime, 1000, 10) + "/cudnn-" + std::to_string(cudnn / 10000) + "." +
           std::to_string(cudnn % 10000 / 100) + "." + std::to_string(cudnn % 100) + "/" + std::string(to_string(precision));
  }

  void check_precision(Precision precision) const override {
    if (precision == Precision::kBf16) {
      throw Error("the cuda backend runs fp16 and fp32; bf16 is not implemented (use --precision fp16)");
    }
    std::string why;
    if (!cuda::device_available(&why)) throw Error("the cuda backend cannot build here: " + why);
  }

  // The detection head's tail runs as one kernel where the lowering will fuse it: its nodes say
  // so (inspect, build), instead of naming the per-node kernels that would not run. At fp16 the
  // convolutions that read one input alike are merged first (SiblingConvMerge).
  void assign(Graph& graph, Precision precision) const override {
    const cuda::LoweringOptions options = lowering_options_for(precision);
    if (options.merge_sibling_convs && options.conv_strided_input && SiblingConvMerge().apply(graph))
      DeadNodeElimination().apply(graph);  // drops the weights the merged node copied
    for (Node& node : graph.nodes) node.impl = implementation_for(graph, node);
    if (!options.fuse_detect_head) return;
    for (const cuda::DetectHead& head : cuda::find_detect_heads(graph))
      for (int node : head.nodes) graph.nodes[static_cast<std::size_t>(node)].impl = "cuda.detect_head (fused)";
  }

  static cuda::LoweringOptions lowering_options_for(Precision precision) {
    cuda::LoweringOptions options = cuda::lowering_options_from_environment();
    if (precision != Precision::kFp16) options.conv_strided_input = options.conv_strided_output = false;
    return options;
  }

  std::unique_ptr<BackendEngine> prepare(const Plan& plan, int) const override {
    cuda::LoweringOptions options = lowering_options_for(plan.precision);
    try {
      return std::make_unique<cuda::CudaEngine>(plan, options);
    } catch (const cuda::CudaError&) {
      // Strided convolution layouts are a speed option: cuDNN may have no algorithm for them.
      if (!options.conv_strided_input && !options.conv_strided_output) throw;
      options.conv_strided_input = options.conv_strided_output = false;
      return std::make_unique<cuda::CudaEngine>(plan, options);
    }
  }
};

}  // namespace

const Backend& cuda_backend() {
  static const CudaBackend backend;
  return backend;
}

}  // namespace detstream::inference
