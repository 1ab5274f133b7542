#include "inference/onnx/importer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "inference/core/error.h"
#include "support/shared_data.h"

namespace detstream::inference {
namespace {

TEST(Importer, ReadsRealYolov8nWithMetadata) {
  DETSTREAM_REQUIRE_SHARED(path, "models/yolov8n_320.onnx");
  const Graph graph = onnx::import_model_file(path);
  EXPECT_EQ(graph.opset, 20);
  ASSERT_EQ(graph.inputs.size(), 1u);
  EXPECT_EQ(graph.value(graph.inputs[0]).name, "images");
  EXPECT_EQ(graph.value(graph.inputs[0]).shape, (Shape{1, 3, 320, 320}));
  ASSERT_EQ(graph.outputs.size(), 1u);
  EXPECT_EQ(graph.metadata.at("task"), "detect");
  EXPECT_NE(graph.metadata.at("names").find("'person'"), std::string::npos);
  EXPECT_GT(graph.nodes.size(), 200u);
}

TEST(Importer, MissingFileNamesThePath) {
  try {
    onnx::import_model_file("/nonexistent/model.onnx");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.onnx"), std::string::npos);
  }
}

TEST(Importer, RandomBytesAreRejectedClearly) {
  std::string bytes(4096, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  EXPECT_THROW(onnx::import_model_bytes(bytes, ".", "random.onnx"), Error);
}

TEST(Importer, TruncatedModelIsRejectedClearly) {
  DETSTREAM_REQUIRE_SHARED(path, "models/yolov8n_320.onnx");
  std::ifstream file(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (double fraction : {0.1, 0.5, 0.9, 0.999}) {
    const std::string cut = bytes.substr(0, static_cast<std::size_t>(bytes.size() * fraction));
    EXPECT_THROW(onnx::import_model_bytes(cut, ".", "truncated.onnx"), Error) << "fraction " << fraction;
  }
}

}  // namespace
}  // namespace detstream::inference
