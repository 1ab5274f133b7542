// detstream_cuda_bench: builds a plan for the cuda backend from an ONNX model and measures it on
// the GPU. Checks the output against a golden file when given, times the layers (CUDA graph
// replay, events around each inference, median of N) with and without the host copies, prints
// the arena size, optional per-layer times (--profile), and the work the model must do (FLOPs,
// weight and activation bytes) so the time can be set against the floor.
//   detstream_cuda_bench MODEL [--precision fp16|fp32] [--batch N] [--iterations N]
//                              [--input F.f32 --golden F.f32] [--profile]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "inference/builder/builder.h"
#include "inference/core/error.h"
#include "inference/cuda/cuda_backend.h"
#include "inference/ops/conv_geometry.h"

using namespace detstream::inference;

namespace {

std::vector<float> read_f32(const std::string& path) {
  std::vector<float> data;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fseek(f, 0, SEEK_END);
    data.resize(static_cast<std::size_t>(std::ftell(f)) / sizeof(float));
    std::fseek(f, 0, SEEK_SET);
    if (std::fread(data.data(), sizeof(float), data.size(), f) != data.size()) data.clear();
    std::fclose(f);
  }
  if (data.empty()) throw Error("cannot read '" + path + "'");
  return data;
}

// FLOPs of the convolutions (2 per multiply-add) and bytes of weights and activations.
struct Work {
  double conv_flops = 0, weight_bytes = 0, activation_bytes = 0, io_bytes = 0;
};

Work count_work(const Plan& plan) {
  const Graph& g = plan.graph;
  const double act = plan.precision == Precision::kFp16 ? 2.0 : 4.0;
  Work w;
  for (const Node& n : g.nodes) {
    if (n.op_type == "Conv") {
      const Shape& y = g.value(n.outputs[0]).shape;
      const Shape& k = g.value(n.inputs[1]).shape;
      w.conv_flops += 2.0 * static_cast<double>(element_count(y)) * static_cast<double>(k[1] * k[2] * k[3]);
      w.weight_bytes += static_cast<double>(element_count(k)) * act;
    }
    for (int id : n.outputs) {
      if (id != kNoValue) w.activation_bytes += 2.0 * static_cast<double>(element_count(g.value(id).shape)) * act;  // written once, read once
    }
  }
  for (int id : g.inputs) w.io_bytes += static_cast<double>(element_count(g.value(id).shape)) * 4.0;
  for (int id : g.outputs) w.io_bytes += static_cast<double>(element_count(g.value(id).shape)) * 4.0;
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [--precision fp16|fp32] [--batch N] [--iterations N] [--input F --golden F] [--profile]\n", argv[0]);
    return 2;
  }
  std::string model = argv[1], input_path, golden_path;
  Precision precision = Precision::kFp16;
  int batch = 1, iterations = 200;
  bool profile = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--precision") precision = parse_precision(next());
    else if (a == "--batch") batch = std::stoi(next());
    else if (a == "--iterations") iterations = std::stoi(next());
    else if (a == "--input") input_path = next();
    else if (a == "--golden") golden_path = next();
    else if (a == "--profile") profile = true;
  }
  try {
    BuildOptions options;
    options.backend = "cuda";
    options.precision = precision;
    options.batch = {batch, batch, batch};
    const auto build_start = std::chrono::steady_clock::now();
    const Plan plan = build_plan_from_onnx(model, options);
    auto engine = backend_named("cuda").prepare(plan, 0);
    const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
    auto context = engine->create_context();

    const Value& in = plan.graph.value(plan.graph.inputs[0]);
    const Value& out = plan.graph.value(plan.graph.outputs[0]);
    Tensor input(DataType::kFloat32, in.shape), output(DataType::kFloat32, out.shape);
    const std::size_t per_image = static_cast<std::size_t>(input.count() / batch);
    std::vector<float> image(per_image);
    if (!input_path.empty()) {
      image = read_f32(input_path);
    } else {
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> dist(0.0f, 1.0f);
      for (float& v : image) v = dist(rng);
    }
    for (int b = 0; b < batch; ++b) std::memcpy(input.data<float>() + b * per_image, image.data(), per_image * sizeof(float));
    const ConstTensorView in_view = input.view();
    const TensorView out_view = output.view();
    if (Status s = context->execute({&in_view, 1}, {&out_view, 1}); !s) throw Error(s.message());
    std::string parity = "-";
    if (!golden_path.empty()) {
      const std::vector<float> golden = read_f32(golden_path);
      double worst = 0.0;
      for (int b = 0; b < batch; ++b) {
        double diff = 0, norm = 0;
        for (std::size_t k = 0; k < golden.size(); ++k) {
          const double d = output.data<float>()[b * golden.size() + k] - golden[k];
          diff += d * d;
          norm += static_cast<double>(golden[k]) * golden[k];
        }
        worst = std::max(worst, std::sqrt(diff / norm));
      }
      char text[64];
      std::snprintf(text, sizeof text, "%.3g", worst);
      parity = text;
    }
    const cuda::EnqueueTiming t = cuda::time_enqueue(*context, 20, iterations);
    const Work w = count_work(plan);
    std::printf("RESULT model=%s precision=%s batch=%d rel_l2=%s layers_median_ms=%.4f layers_min_ms=%.4f "
                "with_copies_median_ms=%.4f img_per_s=%.0f graph=%s build_s=%.2f context_bytes=%zu\n",
                model.substr(model.rfind('/') + 1).c_str(), std::string(to_string(precision)).c_str(), batch, parity.c_str(),
                t.median_ms, t.min_ms, t.with_copies_median_ms, batch * 1000.0 / t.median_ms, t.graph ? "on" : "off", build_s,
                engine->context_memory_bytes());
    std::printf("WORK conv_gflop=%.3f weight_mb=%.2f activation_mb_unfused=%.2f io_mb=%.2f\n", w.conv_flops / 1e9,
                w.weight_bytes / 1e6, w.activation_bytes / 1e6, w.io_bytes / 1e6);
    std::printf("CONTEXT %s\n", cuda::describe_context(*context).c_str());
    if (profile) {
      const std::vector<cuda::LayerProfile> layers = cuda::profile_layers(*context, 20);
      std::vector<std::size_t> order(layers.size());
      double total = 0;
      for (std::size_t k = 0; k < layers.size(); ++k) {
        order[k] = k;
        total += layers[k].ms;
      }
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return layers[a].ms > layers[b].ms; });
      std::printf("PROFILE %zu layers, each run alone (mean of 20 launches replayed as a CUDA graph): sum %.4f ms; slowest:\n", layers.size(), total);
      for (std::size_t k = 0; k < std::min<std::size_t>(25, order.size()); ++k) {
        const cuda::LayerProfile& l = layers[order[k]];
        const Node* node = l.node >= 0 ? &plan.graph.nodes[static_cast<std::size_t>(l.node)] : nullptr;
        std::printf("  %8.4f ms  %-8s %-20s %s -> %s\n", l.ms, node ? node->op_type.c_str() : "copy", l.tactic.c_str(),
                    node ? node->name.c_str() : "", node ? to_string(plan.graph.value(node->outputs[0]).shape).c_str() : "");
      }
      std::printf("LAYERS in execution order: alone; done within a replay of the graph's layers up to it, and the rise:\n");
      double before = 0.0;
      for (const cuda::LayerProfile& l : layers) {
        const Node* node = l.node >= 0 ? &plan.graph.nodes[static_cast<std::size_t>(l.node)] : nullptr;
        std::printf("  %8.4f ms  %8.4f ms %+8.4f  %-8s %-20s %s\n", l.ms, l.prefix_ms, l.prefix_ms - before,
                    node ? node->op_type.c_str() : "copy", l.tactic.c_str(), node ? node->name.c_str() : "");
        before = l.prefix_ms;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
