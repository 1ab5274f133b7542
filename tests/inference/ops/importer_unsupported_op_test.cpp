// What the importer says about op types and versions the registry does not implement: the error
// names the node, its op type and the model's opset, so a user knows what to change.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference {
namespace {

std::string model_with(const std::string& op_type, int opset) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(opset);
  auto* graph = model.mutable_graph();
  graph->set_name("g");
  auto* input = graph->add_input();
  input->set_name("x");
  input->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  input->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
  auto* node = graph->add_node();
  node->set_name("my_node");
  node->set_op_type(op_type);
  node->add_input("x");
  node->add_output("y");
  graph->add_output()->set_name("y");
  return model.SerializeAsString();
}

std::string import_error(const std::string& bytes) {
  try {
    onnx::import_model_bytes(bytes, ".", "tiny.onnx");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ImporterOps, UnsupportedOpNamesNodeOpTypeAndOpset) {
  const std::string message = import_error(model_with("NonMaxSuppression", 17));
  EXPECT_NE(message.find("tiny.onnx"), std::string::npos) << message;
  EXPECT_NE(message.find("'my_node'"), std::string::npos) << message;
  EXPECT_NE(message.find("NonMaxSuppression"), std::string::npos) << message;
  EXPECT_NE(message.find("opset 17"), std::string::npos) << message;
  EXPECT_NE(message.find("unsupported operator"), std::string::npos) << message;
}

TEST(ImporterOps, TooOldAnOpVersionSaysWhichOpsetIsNeeded) {
  // Slice took starts/ends as attributes before opset 10; only the input form is implemented.
  const std::string message = import_error(model_with("Slice", 9));
  EXPECT_NE(message.find("Slice 'my_node' (opset 9)"), std::string::npos) << message;
  EXPECT_NE(message.find("need opset >= 10"), std::string::npos) << message;
}

TEST(ImporterOps, EveryYoloOpIsRegistered) {
  for (const char* op : {"Conv", "Sigmoid", "Mul", "Split", "Add", "Concat", "MaxPool", "Resize", "Reshape", "Transpose",
                         "Softmax", "Slice", "Sub", "Div", "MatMul", "Shape", "Gather", "Unsqueeze", "Cast", "Range",
                         "ConstantOfShape", "Expand"}) {
    EXPECT_NE(find_op_schema(op), nullptr) << op;
  }
}

}  // namespace
}  // namespace detstream::inference
