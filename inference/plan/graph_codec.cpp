#include "inference/plan/graph_codec.h"

#include <algorithm>

#include "inference/ops/op_schema.h"

namespace detstream::inference::plan_io {

namespace {

// Smallest encoded sizes, so that counts can be checked against the remaining bytes.
constexpr std::size_t kMinValueBytes = 8 + 1 + 8 + 1;
constexpr std::size_t kMinNodeBytes = 8 + 8 + 4 + 8 + 8 + 8 + 8;
constexpr std::size_t kMinAttributeBytes = 8 + 1;
constexpr std::size_t kMinWeightEntryBytes = 4 + 1 + 8 + 8 + 8;
// No activation or weight of a plausible model comes near this; larger ones mean a hostile file.
constexpr std::uint64_t kMaxValueBytes = std::uint64_t{1} << 36;

void write_shape(const Shape& shape, ByteWriter& out) {
  out.pod<std::uint64_t>(shape.size());
  for (std::int64_t d : shape) out.pod<std::int64_t>(d);
}

void write_ids(const std::vector<int>& ids, ByteWriter& out) {
  out.pod<std::uint64_t>(ids.size());
  for (int id : ids) out.pod<std::int32_t>(id);
}

void write_tensor(const Tensor& tensor, ByteWriter& out) {
  out.pod<std::uint8_t>(static_cast<std::uint8_t>(tensor.dtype()));
  write_shape(tensor.shape(), out);
  out.pod<std::uint64_t>(tensor.byte_size());
  if (tensor.byte_size()) out.raw(tensor.raw(), tensor.byte_size());
}

void write_attribute(const Attribute& a, ByteWriter& out) {
  out.pod<std::uint8_t>(static_cast<std::uint8_t>(a.kind));
  switch (a.kind) {
    case Attribute::Kind::kInt: out.pod<std::int64_t>(a.i); break;
    case Attribute::Kind::kFloat: out.pod<float>(a.f); break;
    case Attribute::Kind::kString: out.str(a.s); break;
    case Attribute::Kind::kInts:
      out.pod<std::uint64_t>(a.ints.size());
      for (std::int64_t v : a.ints) out.pod<std::int64_t>(v);
      break;
    case Attribute::Kind::kFloats:
      out.pod<std::uint64_t>(a.floats.size());
      for (float v : a.floats) out.pod<float>(v);
      break;
    case Attribute::Kind::kTensor: write_tensor(a.tensor, out); break;
  }
}

DataType read_dtype(ByteReader& in, bool allow_undefined) {
  const auto code = in.pod<std::uint8_t>();
  const DataType dtype = data_type_from_onnx(code);
  if (dtype == DataType::kUndefined && !(allow_undefined && code == 0)) {
    in.fail("unknown element type code " + std::to_string(code));
  }
  return dtype;
}

Shape read_shape(ByteReader& in, bool allow_unknown) {
  const std::size_t rank = in.count(sizeof(std::int64_t), "shape rank");
  if (rank > 64) in.fail("shape of rank " + std::to_string(rank));
  Shape shape(rank);
  for (auto& d : shape) {
    d = in.pod<std::int64_t>();
    if (d < 0 && !(allow_unknown && d == kUnknownDim)) in.fail("negative dimension " + std::to_string(d));
  }
  return shape;
}

// Bytes a tensor of this type and static shape occupies, or fail() if it would exceed `limit`.
std::uint64_t checked_byte_size(DataType dtype, const Shape& shape, std::uint64_t limit, ByteReader& in) {
  std::uint64_t bytes = element_size(dtype);
  for (std::int64_t d : shape) {
    const auto dim = static_cast<std::uint64_t>(d);
    if (dim != 0 && bytes > limit / dim)
      in.fail("tensor of shape " + to_string(shape) + " needs more than " + std::to_string(limit) + " bytes");
    bytes *= dim;
  }
  return bytes;
}

Tensor read_tensor(ByteReader& in) {
  const DataType dtype = read_dtype(in, true);
  const Shape shape = read_shape(in, false);
  const auto bytes = in.pod<std::uint64_t>();
  if (dtype == DataType::kUndefined) {
    if (!shape.empty() || bytes != 0) in.fail("tensor of undefined type with data");
    return {};
  }
  if (checked_byte_size(dtype, shape, in.remaining(), in) != bytes) {
    in.fail("tensor byte size " + std::to_string(bytes) + " does not match its shape " + to_string(shape));
  }
  Tensor tensor(dtype, shape);
  if (bytes) std::memcpy(tensor.raw(), in.take(bytes, "tensor data").data(), bytes);
  return tensor;
}

Attribute read_attribute(ByteReader& in) {
  Attribute a;
  const auto kind = in.pod<std::uint8_t>();
  if (kind > static_cast<std::uint8_t>(Attribute::Kind::kTensor))
    in.fail("unknown attribute kind " + std::to_string(kind));
  a.kind = static_cast<Attribute::Kind>(kind);
  switch (a.kind) {
    case Attribute::Kind::kInt: a.i = in.pod<std::int64_t>(); break;
    case Attribute::Kind::kFloat: a.f = in.pod<float>(); break;
    case Attribute::Kind::kString: a.s = in.str("attribute string"); break;
    case Attribute::Kind::kInts:
      a.ints.resize(in.count(sizeof(std::int64_t), "attribute ints"));
      for (auto& v : a.ints) v = in.pod<std::int64_t>();
      break;
    case Attribute::Kind::kFloats:
      a.floats.resize(in.count(sizeof(float), "attribute floats"));
      for (auto& v : a.floats) v = in.pod<float>();
      break;
    case Attribute::Kind::kTensor: a.tensor = read_tensor(in); break;
  }
  return a;
}

std::vector<int> read_ids(ByteReader& in, std::size_t value_count, bool allow_absent, const char* what) {
  std::vector<int> ids(in.count(sizeof(std::int32_t), what));
  for (int& id : ids) {
    id = in.pod<std::int32_t>();
    const bool absent_ok = allow_absent && id == kNoValue;
    if (!absent_ok && (id < 0 || static_cast<std::size_t>(id) >= value_count)) {
      in.fail(std::string(what) + " refers to value " + std::to_string(id) + " of " + std::to_string(value_count));
    }
  }
  return ids;
}

Node read_node(ByteReader& in, std::size_t value_count) {
  Node node;
  node.name = in.str("node name");
  node.op_type = in.str("op type");
  node.opset = in.pod<std::int32_t>();
  node.impl = in.str("node impl");
  node.inputs = read_ids(in, value_count, true, "node input");
  node.outputs = read_ids(in, value_count, true, "node output");
  const std::size_t attributes = in.count(kMinAttributeBytes, "attribute");
  for (std::size_t i = 0; i < attributes; ++i) {
    std::string key = in.str("attribute name");
    node.attributes[std::move(key)] = read_attribute(in);
  }
  return node;
}

}  // namespace

void write_graph(const Graph& graph, ByteWriter& out) {
  out.pod<std::int32_t>(graph.opset);
  out.pod<std::uint64_t>(graph.values.size());
  for (const Value& v : graph.values) {
    out.str(v.name);
    out.pod<std::uint8_t>(static_cast<std::uint8_t>(v.dtype));
    write_shape(v.shape, out);
    out.pod<std::uint8_t>(v.is_constant() ? 1 : 0);
  }
  out.pod<std::uint64_t>(graph.nodes.size());
  for (const Node& node : graph.nodes) {
    out.str(node.name);
    out.str(node.op_type);
    out.pod<std::int32_t>(node.opset);
    out.str(node.impl);
    write_ids(node.inputs, out);
    write_ids(node.outputs, out);
    out.pod<std::uint64_t>(node.attributes.size());
    for (const auto& [key, attribute] : node.attributes) {
      out.str(key);
      write_attribute(attribute, out);
    }
  }
  write_ids(graph.inputs, out);
  write_ids(graph.outputs, out);
}

void write_weights(const Graph& graph, ByteWriter& out) {
  std::vector<int> constants;
  for (std::size_t id = 0; id < graph.values.size(); ++id) {
    if (graph.values[id].is_constant()) constants.push_back(static_cast<int>(id));
  }
  out.pod<std::uint64_t>(constants.size());
  std::vector<std::size_t> offset_slots;
  for (int id : constants) {
    const Tensor& t = *graph.value(id).constant;
    out.pod<std::int32_t>(id);
    out.pod<std::uint8_t>(static_cast<std::uint8_t>(t.dtype()));
    write_shape(t.shape(), out);
    offset_slots.push_back(out.size());
    out.pod<std::uint64_t>(0);  // patched below
    out.pod<std::uint64_t>(t.byte_size());
  }
  for (std::size_t i = 0; i < constants.size(); ++i) {
    const Tensor& t = *graph.value(constants[i]).constant;
    out.pad_to(kWeightAlignment);
    out.patch_u64(offset_slots[i], out.size());
    if (t.byte_size()) out.raw(t.raw(), t.byte_size());
  }
}

Graph read_graph(ByteReader& in, std::vector<char>& constant_flags) {
  Graph graph;
  graph.opset = in.pod<std::int32_t>();
  const std::size_t value_count = in.count(kMinValueBytes, "value");
  if (value_count > static_cast<std::size_t>(INT32_MAX)) in.fail("too many values");
  graph.values.reserve(value_count);
  constant_flags.assign(value_count, 0);
  for (std::size_t i = 0; i < value_count; ++i) {
    Value v;
    v.name = in.str("value name");
    v.dtype = read_dtype(in, true);
    v.shape = read_shape(in, true);
    if (is_static(v.shape))
      checked_byte_size(v.dtype == DataType::kUndefined ? DataType::kUInt8 : v.dtype, v.shape, kMaxValueBytes, in);
    const auto flag = in.pod<std::uint8_t>();
    if (flag > 1) in.fail("constant flag " + std::to_string(flag));
    constant_flags[i] = static_cast<char>(flag);
    graph.values.push_back(std::move(v));
  }
  const std::size_t node_count = in.count(kMinNodeBytes, "node");
  graph.nodes.reserve(node_count);
  for (std::size_t i = 0; i < node_count; ++i) graph.nodes.push_back(read_node(in, value_count));
  graph.inputs = read_ids(in, value_count, false, "graph input");
  graph.outputs = read_ids(in, value_count, false, "graph output");
  if (in.remaining() != 0) in.fail(std::to_string(in.remaining()) + " unexpected bytes after the graph");
  return graph;
}

void read_weights(ByteReader& in, Graph& graph, const std::vector<char>& constant_flags) {
  const std::size_t count = in.count(kMinWeightEntryBytes, "weight");
  struct Entry {
    int id;
    DataType dtype;
    Shape shape;
    std::uint64_t offset, bytes;
  };
  std::vector<Entry> entries;
  entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Entry e;
    e.id = in.pod<std::int32_t>();
    if (e.id < 0 || static_cast<std::size_t>(e.id) >= graph.values.size() ||
        !constant_flags[static_cast<std::size_t>(e.id)]) {
      in.fail("weight for value " + std::to_string(e.id) + ", which is not a constant of the graph");
    }
    e.dtype = read_dtype(in, false);
    e.shape = read_shape(in, false);
    e.offset = in.pod<std::uint64_t>();
    e.bytes = in.pod<std::uint64_t>();
    entries.push_back(std::move(e));
  }
  const std::uint64_t data_begin = in.absolute_position();
  const std::uint64_t data_end = in.base() + in.data().size();
  for (const Entry& e : entries) {
    if (e.offset % kWeightAlignment != 0 || e.offset < data_begin || e.offset > data_end ||
        e.bytes > data_end - e.offset) {
      in.fail("weight of value '" + graph.value(e.id).name + "' at offset " + std::to_string(e.offset) +
              " is misaligned or outside the weights section");
    }
    if (checked_byte_size(e.dtype, e.shape, e.bytes, in) != e.bytes) {
      in.fail("weight of value '" + graph.value(e.id).name + "' has " + std::to_string(e.bytes) +
              " bytes, which does not match its shape " + to_string(e.shape));
    }
    if (graph.value(e.id).is_constant()) in.fail("two weights for value '" + graph.value(e.id).name + "'");
    auto tensor = std::make_shared<Tensor>(e.dtype, e.shape);
    if (e.bytes) std::memcpy(tensor->raw(), in.data().data() + (e.offset - in.base()), e.bytes);
    graph.value(e.id).constant = std::move(tensor);
  }
  for (std::size_t id = 0; id < graph.values.size(); ++id) {
    if (constant_flags[id] && !graph.values[id].is_constant()) {
      in.fail("constant value '" + graph.values[id].name + "' has no weight");
    }
  }
}

void validate_shapes(const Graph& graph, ByteReader& context) {
  for (const Node& node : graph.nodes) {
    const OpSchema* schema = find_op_schema(node.op_type);
    if (!schema) continue;  // the backend's prepare() names ops it cannot run
    std::vector<InputInfo> inputs;
    for (int id : node.inputs) {
      if (id == kNoValue) {
        inputs.push_back({});
        continue;
      }
      const Value& v = graph.value(id);
      if (!is_static(v.shape)) context.fail(graph.describe(node) + " reads '" + v.name + "' of unknown shape");
      inputs.push_back({v.dtype, v.shape, v.constant.get()});
    }
    std::vector<OutputInfo> infos;
    try {
      infos = schema->infer(node, inputs);
    } catch (const Error& e) {
      context.fail(graph.describe(node) + " rejects its stored inputs: " + e.what());
    }
    for (std::size_t i = 0; i < node.outputs.size() && i < infos.size(); ++i) {
      if (node.outputs[i] == kNoValue) continue;
      const Value& out = graph.value(node.outputs[i]);
      if (out.shape != infos[i].shape) {
        context.fail(graph.describe(node) + " output '" + out.name + "' is stored as " + to_string(out.shape) +
                     " but its inputs give " + to_string(infos[i].shape));
      }
    }
  }
}

}  // namespace detstream::inference::plan_io
