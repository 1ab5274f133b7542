// The cpu backend's assignment rule: which nodes are lowered to oneDNN primitives ("cpu.dnnl")
// and which run on their op's reference kernel over plain float32 buffers ("cpu.ref"). Decided
// once at build time from op type, attributes, constness and the bound shapes, so `inspect` shows
// it and nothing falls back silently at run time. Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "inference/graph/graph.h"

namespace detstream::inference::cpu {

inline constexpr std::string_view kDnnlImpl = "cpu.dnnl";
inline constexpr std::string_view kRefImpl = "cpu.ref";

// Conv/MaxPool/Resize(nearest, integer factor)/Split/binary ops on 4-D float32 feature maps;
// Concat, Sigmoid, Relu, Softmax, Transpose, MatMul and the reshape family (as views) on float32
// tensors of any rank up to 6. The head's small box arithmetic (Slice, and Sub/Add/Div/Mul on
// 3-D tensors) stays reference: it is tiny, and computing it in float32 keeps box precision.
bool lowers_to_dnnl(const Graph& graph, const Node& node);

// For Resize: the integer (H, W) upscale factors when the node is a nearest resize oneDNN computes
// exactly (integer factors, asymmetric+floor or half_pixel+round_prefer_*), else {0, 0}.
std::pair<std::int64_t, std::int64_t> nearest_resize_factors(const Graph& graph, const Node& node);

}  // namespace detstream::inference::cpu
