// ONNX importer: reads a ModelProto (libonnx's protobuf classes) into the graph IR. Checks the
// IR version and default-domain opset, converts initializers (raw, typed and external data),
// Constant nodes, attributes and metadata_props. Shapes stay as declared (symbolic dims become
// kUnknownDim) until the builder binds input shapes. Every failure throws Error naming the file,
// node, op type and opset; nothing here crashes on malformed input. Stateless; thread-safe.
#pragma once

#include <string>

#include "inference/graph/graph.h"

namespace detstream::inference::onnx {

inline constexpr int kMaxIrVersion = 10;
inline constexpr int kMaxOpset = 22;

Graph import_model_file(const std::string& path);
// `base_dir` resolves external-data references.
Graph import_model_bytes(const std::string& bytes, const std::string& base_dir, const std::string& label);

}  // namespace detstream::inference::onnx
