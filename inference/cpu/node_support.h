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

// Conv/MaxPool/Resize(nearest, integer factor)/Concat/Split/binary/unary on 4-D float32 feature
// maps, and MatMul on float32; the detection head's small 2-D/3-D tensor bits stay reference.
bool lowers_to_dnnl(const Graph& graph, const Node& node);

// For Resize: the integer (H, W) upscale factors when the node is a nearest resize oneDNN computes
// exactly (integer factors, asymmetric+floor or half_pixel+round_prefer_*), else {0, 0}.
std::pair<std::int64_t, std::int64_t> nearest_resize_factors(const Graph& graph, const Node& node);

}  // namespace detstream::inference::cpu
