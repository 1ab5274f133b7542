// A tiny YOLO-shaped ONNX model written with libonnx's protobuf classes, for tests that need a
// real .onnx file without the shared models: images [N,3,H,W] -> Conv 3x3 (3->4) + SiLU
// (Sigmoid, Mul) -> Conv 1x1 (4->6) -> Relu -> "output0" [N,6,H,W], with YOLO-style
// metadata_props. Options make it dynamic, add an unsupported node, or vary the weights.
#pragma once

#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace detstream::testing {

struct TinyModelSpec {
  bool dynamic = false;         // symbolic batch/height/width instead of 1 x 3 x size x size
  std::int64_t size = 32;       // static H = W, and the metadata imgsz
  std::string extra_op;         // e.g. "NonMaxSuppression": appended node the engine does not know
  float weight_scale = 1.0f;    // vary to make "the same model with different bytes"
  std::string author = "detstream tests";  // a metadata entry to edit without changing the graph

  static TinyModelSpec dynamic_shapes() {
    TinyModelSpec spec;
    spec.dynamic = true;
    return spec;
  }
  static TinyModelSpec with_op(std::string op) {
    TinyModelSpec spec;
    spec.extra_op = std::move(op);
    return spec;
  }
};

namespace tiny_onnx_detail {

inline void add_initializer(::onnx::GraphProto& graph, const std::string& name, const std::vector<std::int64_t>& dims,
                            float scale) {
  ::onnx::TensorProto& t = *graph.add_initializer();
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::FLOAT);
  std::int64_t count = 1;
  for (std::int64_t d : dims) {
    t.add_dims(d);
    count *= d;
  }
  std::vector<float> values(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = scale * (static_cast<float>((i * 7919u) % 23u) / 23.0f - 0.5f);
  }
  t.set_raw_data(values.data(), values.size() * sizeof(float));
}

inline void set_type(::onnx::ValueInfoProto& info, const std::string& name, const std::vector<std::string>& dims) {
  info.set_name(name);
  auto& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(::onnx::TensorProto::FLOAT);
  for (const std::string& d : dims) {
    auto& dim = *tensor.mutable_shape()->add_dim();
    if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos) {
      dim.set_dim_value(std::stoll(d));
    } else {
      dim.set_dim_param(d);
    }
  }
}

inline ::onnx::NodeProto& add_node(::onnx::GraphProto& graph, const std::string& op, const std::string& name,
                                  const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  ::onnx::NodeProto& node = *graph.add_node();
  node.set_op_type(op);
  node.set_name(name);
  for (const auto& i : inputs) node.add_input(i);
  for (const auto& o : outputs) node.add_output(o);
  return node;
}

inline void add_ints(::onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values) {
  ::onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INTS);
  for (std::int64_t v : values) a.add_ints(v);
}

}  // namespace tiny_onnx_detail

inline std::string tiny_onnx_bytes(const TinyModelSpec& spec = {}) {
  using namespace tiny_onnx_detail;
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("detstream-tests");
  auto& opset = *model.add_opset_import();
  opset.set_domain("");
  opset.set_version(17);
  const std::string size = std::to_string(spec.size);
  const std::vector<std::pair<std::string, std::string>> metadata = {
      {"names", "{0: 'person', 1: 'bicycle'}"}, {"stride", "32"}, {"task", "detect"},
      {"imgsz", "[" + size + ", " + size + "]"}, {"author", spec.author}};
  for (const auto& [key, value] : metadata) {
    auto& prop = *model.add_metadata_props();
    prop.set_key(key);
    prop.set_value(value);
  }
  ::onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("tiny");
  add_initializer(graph, "w1", {4, 3, 3, 3}, spec.weight_scale);
  add_initializer(graph, "b1", {4}, spec.weight_scale);
  add_initializer(graph, "w2", {6, 4, 1, 1}, spec.weight_scale);
  const std::vector<std::string> in_dims = spec.dynamic ? std::vector<std::string>{"batch", "3", "height", "width"}
                                                        : std::vector<std::string>{"1", "3", size, size};
  const std::vector<std::string> out_dims = spec.dynamic ? std::vector<std::string>{"batch", "6", "height", "width"}
                                                         : std::vector<std::string>{"1", "6", size, size};
  set_type(*graph.add_input(), "images", in_dims);
  auto& conv1 = add_node(graph, "Conv", "model.0/conv/Conv", {"images", "w1", "b1"}, {"c1"});
  add_ints(conv1, "kernel_shape", {3, 3});
  add_ints(conv1, "pads", {1, 1, 1, 1});
  add_ints(conv1, "strides", {1, 1});
  add_node(graph, "Sigmoid", "model.0/act/Sigmoid", {"c1"}, {"s1"});
  add_node(graph, "Mul", "model.0/act/Mul", {"c1", "s1"}, {"m1"});
  auto& conv2 = add_node(graph, "Conv", "model.1/conv/Conv", {"m1", "w2"}, {"c2"});
  add_ints(conv2, "kernel_shape", {1, 1});
  add_node(graph, "Relu", "model.1/act/Relu", {"c2"}, {"output0"});
  if (!spec.extra_op.empty()) {
    add_node(graph, spec.extra_op, "post/" + spec.extra_op, {"output0"}, {"extra"});
  }
  set_type(*graph.add_output(), "output0", out_dims);
  return model.SerializeAsString();
}

inline void write_tiny_onnx(const std::filesystem::path& path, const TinyModelSpec& spec = {}) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  const std::string bytes = tiny_onnx_bytes(spec);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A fresh directory under the system temp dir, removed when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("detstream-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int value = 0;
    return value;
  }
  std::filesystem::path path_;
};

}  // namespace detstream::testing
