// The GRPH and WGHT sections of a plan (internal to inference/plan; layout in FORMAT.md).
// GRPH holds the graph's structure (values with name/dtype/shape and a constant flag, nodes with
// every attribute kind, graph inputs/outputs, opset); WGHT holds the constant tensors, each at a
// 64-byte aligned absolute file offset so that a future mmap loader can use them in place.
// Reading validates every id, count and size, and re-runs each node's shape inference, so a
// loaded graph is as consistent as a freshly built one. Stateless; thread-safe.
#pragma once

#include "inference/graph/graph.h"
#include "inference/plan/byte_io.h"

namespace detstream::inference::plan_io {

inline constexpr std::size_t kWeightAlignment = 64;

void write_graph(const Graph& graph, ByteWriter& out);
// `out` must hold the whole file so far: offsets written are absolute.
void write_weights(const Graph& graph, ByteWriter& out);

// Metadata is not part of GRPH (it lives in the META JSON); constant values come back flagged
// but empty until read_weights fills them.
Graph read_graph(ByteReader& in, std::vector<char>& constant_flags);
void read_weights(ByteReader& in, Graph& graph, const std::vector<char>& constant_flags);
// Every node's stored output shapes must be what its op infers from its inputs.
void validate_shapes(const Graph& graph, ByteReader& context);

}  // namespace detstream::inference::plan_io
