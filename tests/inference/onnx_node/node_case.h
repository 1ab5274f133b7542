// One ONNX backend node test case (a directory with model.onnx and test_data_set_*/input_*.pb,
// output_*.pb TensorProto files, as Debian's libonnx-testdata ships them): classify it against
// the engine's op registry, and run it through the importer, the builder and the reference
// backend, comparing outputs like ONNX's runner (floats: allclose rtol 1e-3, atol 1e-5, NaN equal
// to NaN; integers and bools: exact).
//
// Build-time operands: the engine, like TensorRT with static shapes, needs the inputs that decide
// output shapes (Reshape's shape, Slice's starts..., OpSchema::build_time_inputs) at build time.
// Node tests feed those as graph inputs; the runner turns exactly those inputs into initializers
// holding the test's values before building. Every other input stays a runtime input.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace detstream::inference::onnx_node {

// Where the node tests live: $DETSTREAM_ONNX_NODE_DIR, else Debian's libonnx-testdata path.
std::filesystem::path node_test_dir();
// Names of the case directories ("test_abs", ...), sorted; empty when the directory is missing.
std::vector<std::string> discover_cases(const std::filesystem::path& dir);

struct CaseOps {
  int opset = 0;
  std::vector<std::string> op_types;     // distinct, sorted
  std::vector<std::string> unsupported;  // op types (or domain:op) the engine has no schema for
};

// Reads the model's op types without importing it. Throws Error when model.onnx is unreadable.
CaseOps case_ops(const std::filesystem::path& case_dir);

struct CaseResult {
  bool passed = false;
  int data_sets = 0;
  std::string message;  // why it failed (first problem found)
};

// Imports, builds with backend "ref" and runs every test_data_set; never throws.
CaseResult run_case(const std::filesystem::path& case_dir);

}  // namespace detstream::inference::onnx_node
