#include "inference/cpu/lowering.h"

#include <algorithm>

#include "inference/core/error.h"
#include "inference/cpu/layout.h"
#include "inference/cpu/node_support.h"

namespace detstream::inference::cpu {

namespace {

using dt = dnnl::memory::data_type;

std::size_t slot_bytes(DataType dtype, const Shape& shape, const std::optional<dnnl::memory::desc>& desc) {
  if (desc) return desc->get_size();
  return static_cast<std::size_t>(element_count(shape)) * element_size(dtype);
}

Slot plain_slot(DataType dtype, const Shape& shape, SlotKind kind) {
  Slot slot;
  slot.dtype = dtype;
  slot.shape = shape;
  if (const auto type = to_dnnl_type(dtype)) slot.desc = plain_desc(shape, *type);
  slot.bytes = slot_bytes(dtype, shape, slot.desc);
  slot.kind = kind;
  return slot;
}

}  // namespace

Lowering::Lowering(const Graph& graph, Precision precision, const dnnl::engine& engine)
    : graph_(graph), engine_(engine), stream_(engine) {
  producers_.assign(graph.values.size(), -1);
  for (std::size_t n = 0; n < graph.nodes.size(); ++n)
    for (int id : graph.nodes[n].outputs)
      if (id != kNoValue) producers_[static_cast<std::size_t>(id)] = static_cast<int>(n);
  compute_types_ = decide_compute_types(precision);
  value_slots_.assign(graph.values.size(), -1);
  for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
    const Value& v = graph.value(graph.inputs[i]);
    Slot slot = plain_slot(v.dtype, v.shape, SlotKind::kInput);
    slot.io_index = static_cast<int>(i);
    const int id = add_slot(std::move(slot));
    value_slots_[static_cast<std::size_t>(graph.inputs[i])] = id;
    program_.input_slots.push_back(id);
  }
}

namespace {

// Ops that only move or select elements: exact in any type, so they never need float32 inputs
// converted down; they stay bf16 only when everything they read is.
bool moves_data(const std::string& op) {
  return op == "Concat" || op == "Split" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
         op == "Unsqueeze" || op == "Transpose" || op == "MaxPool" || op == "Resize";
}

}  // namespace

std::vector<dt> Lowering::decide_compute_types(Precision precision) const {
  std::vector<dt> types(graph_.nodes.size(), dt::f32);
  if (precision != Precision::kBf16) return types;
  // bf16 flows forward from the graph inputs through oneDNN nodes; reference nodes and Softmax
  // (a normalisation: float32 keeps it accurate) produce float32, and arithmetic fed only by
  // float32 stays float32 (the detection head's box decoding after DFL's Softmax).
  auto bf16_source = [&](int value) {
    if (graph_.value(value).is_constant()) return false;
    const int producer = producers_[static_cast<std::size_t>(value)];
    return producer < 0 ? true : types[static_cast<std::size_t>(producer)] == dt::bf16;
  };
  for (std::size_t n = 0; n < graph_.nodes.size(); ++n) {
    const Node& node = graph_.nodes[n];
    if (node.impl != kDnnlImpl || node.op_type == "Softmax") continue;
    int sources = 0, bf16 = 0;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const int id = node.inputs[i];
      if (id == kNoValue || graph_.value(id).dtype != DataType::kFloat32 || graph_.value(id).is_constant()) continue;
      ++sources;
      bf16 += bf16_source(id);
    }
    const bool use_bf16 = moves_data(node.op_type) ? (sources > 0 && bf16 == sources) : bf16 > 0;
    if (use_bf16) types[n] = dt::bf16;
  }
  return types;
}

int Lowering::add_slot(Slot slot) {
  program_.slots.push_back(std::move(slot));
  conversions_.emplace_back();
  return static_cast<int>(program_.slots.size()) - 1;
}

int Lowering::slot_of(int value) const {
  const int id = value_slots_.at(static_cast<std::size_t>(value));
  if (id >= 0) return id;
  const Value& v = graph_.value(value);
  if (!v.is_constant()) throw Error("cpu backend: value '" + v.name + "' is used before it is produced");
  // Constants are bound lazily, the first time a node reads them.
  Slot slot = plain_slot(v.dtype, v.shape, SlotKind::kConstant);
  slot.constant = v.constant->raw();
  auto& self = const_cast<Lowering&>(*this);
  const int made = self.add_slot(std::move(slot));
  self.value_slots_[static_cast<std::size_t>(value)] = made;
  return made;
}

int Lowering::convert(int from, const dnnl::memory::desc& want, int node) {
  // A copy: adding slots below may move the slot table.
  const Slot source = slot(from);
  if (!source.desc) {
    throw Error(graph_.describe(graph_.nodes[static_cast<std::size_t>(node)]) + ": cpu backend cannot convert a " +
                std::string(to_string(source.dtype)) + " tensor for oneDNN");
  }
  if (*source.desc == want) return from;
  for (const auto& [desc, converted] : conversions_[static_cast<std::size_t>(from)])
    if (desc == want) return converted;
  int made = -1;
  if (source.kind == SlotKind::kConstant) {
    const dnnl::memory src(*source.desc, engine_, const_cast<void*>(source.constant));
    made = constant(want, src);
  } else {
    Slot slot;
    slot.dtype = from_dnnl_type(want.data_type());
    slot.shape = source.shape;
    slot.desc = want;
    slot.bytes = want.get_size();
    made = add_slot(std::move(slot));
    const dnnl::reorder::primitive_desc pd(engine_, *source.desc, engine_, want, attr());
    emit(node, dnnl::reorder(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, from}, {DNNL_ARG_DST, made}});
  }
  conversions_[static_cast<std::size_t>(from)].emplace_back(want, made);
  return made;
}

int Lowering::with_type(int from, dnnl::memory::data_type type, int node) {
  const Slot source = slot(from);
  if (!source.desc) return convert(from, plain_desc(source.shape, type), node);
  return convert(from, retyped(*source.desc, type), node);
}

int Lowering::define(int value, const dnnl::memory::desc& desc) {
  Slot slot;
  slot.dtype = from_dnnl_type(desc.data_type());
  slot.shape = graph_.value(value).shape;
  slot.desc = desc;
  slot.bytes = desc.get_size();
  // A graph output produced in the caller's own format is written straight into their buffer.
  const auto out = std::find(graph_.outputs.begin(), graph_.outputs.end(), value);
  if (out != graph_.outputs.end() && slot.dtype == graph_.value(value).dtype && is_plain(desc)) {
    slot.kind = SlotKind::kOutput;
    slot.io_index = static_cast<int>(out - graph_.outputs.begin());
  }
  const int id = add_slot(std::move(slot));
  value_slots_[static_cast<std::size_t>(value)] = id;
  return id;
}

void Lowering::bind(int value, int slot) { value_slots_[static_cast<std::size_t>(value)] = slot; }

int Lowering::view(int parent, const dnnl::memory::desc& desc) {
  Slot slot;
  slot.dtype = from_dnnl_type(desc.data_type());
  slot.shape = Shape(desc.dims());
  slot.desc = desc;
  slot.kind = SlotKind::kView;
  slot.parent = parent;
  return add_slot(std::move(slot));
}

void Lowering::move_view(int view, std::size_t bytes) { program_.slots[static_cast<std::size_t>(view)].offset += bytes; }

bool Lowering::place(int id, int parent, std::size_t bytes) {
  Slot& slot = program_.slots[static_cast<std::size_t>(id)];
  if (slot.kind != SlotKind::kArena || id == parent) return false;
  slot.kind = SlotKind::kView;
  slot.parent = parent;
  slot.offset = bytes;
  return true;
}

int Lowering::constant(const dnnl::memory::desc& desc, const dnnl::memory& source) {
  dnnl::memory made(desc, engine_);
  dnnl::reorder(source, made).execute(stream_, const_cast<dnnl::memory&>(source), made);
  stream_.wait();
  Slot slot;
  slot.dtype = from_dnnl_type(desc.data_type());
  slot.shape = Shape(desc.dims());
  slot.desc = desc;
  slot.bytes = desc.get_size();
  slot.kind = SlotKind::kConstant;
  slot.constant = made.get_data_handle();
  program_.constants.push_back(std::move(made));
  return add_slot(std::move(slot));
}

void Lowering::emit(int node, const dnnl::primitive& primitive, const dnnl::memory::desc& scratchpad,
                    std::vector<std::pair<int, int>> args) {
  Step step;
  step.node = node;
  step.primitive = primitive;
  for (const auto& [arg, id] : args) (arg == DNNL_ARG_DST ? step.writes : step.reads).push_back(id);
  step.args = std::move(args);
  step.scratchpad = scratchpad;
  program_.scratchpad_bytes = std::max(program_.scratchpad_bytes, scratchpad.get_size());
  program_.steps.push_back(std::move(step));
}

dnnl::primitive_attr Lowering::attr(const dnnl::post_ops& post_ops) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_post_ops(post_ops);
  return attr;
}

void Lowering::lower_reference(int index) {
  const Node& node = graph_.nodes[static_cast<std::size_t>(index)];
  const OpSchema* schema = find_op_schema(node.op_type);
  if (!schema) throw Error(graph_.describe(node) + ": unsupported operator (cpu backend has no reference kernel)");
  Step step;
  step.node = index;
  step.schema = schema;
  for (int id : node.inputs) {
    if (id == kNoValue) {
      step.inputs.push_back(-1);
      continue;
    }
    int from = slot_of(id);
    const Value& v = graph_.value(id);
    if (slot(from).desc) from = convert(from, plain_desc(v.shape, *to_dnnl_type(v.dtype)), index);
    step.inputs.push_back(from);
    step.reads.push_back(from);
  }
  for (int id : node.outputs) {
    if (id == kNoValue) {
      step.outputs.push_back(-1);
      continue;
    }
    const Value& v = graph_.value(id);
    const auto out = std::find(graph_.outputs.begin(), graph_.outputs.end(), id);
    const bool bound = out != graph_.outputs.end() && !graph_.value(id).is_constant();
    Slot slot = plain_slot(v.dtype, v.shape, bound ? SlotKind::kOutput : SlotKind::kArena);
    if (bound) slot.io_index = static_cast<int>(out - graph_.outputs.begin());
    const int made = add_slot(std::move(slot));
    value_slots_[static_cast<std::size_t>(id)] = made;
    step.outputs.push_back(made);
    step.writes.push_back(made);
  }
  program_.steps.push_back(std::move(step));
}

void Lowering::lower_dnnl(int index) {
  const std::string& op = graph_.nodes[static_cast<std::size_t>(index)].op_type;
  if (op == "Conv") return lower_conv(*this, index);
  if (op == "MaxPool") return lower_max_pool(*this, index);
  if (op == "Resize") return lower_resize(*this, index);
  if (op == "Concat") return lower_concat(*this, index);
  if (op == "Split") return lower_split(*this, index);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return lower_binary(*this, index);
  if (op == "Sigmoid" || op == "Relu") return lower_unary(*this, index);
  if (op == "Softmax") return lower_softmax(*this, index);
  if (op == "Transpose") return lower_transpose(*this, index);
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") return lower_reshape(*this, index);
  if (op == "MatMul") return lower_matmul(*this, index);
  throw Error(graph_.describe(graph_.nodes[static_cast<std::size_t>(index)]) + ": no oneDNN lowering for this op");
}

void Lowering::bind_outputs() {
  std::vector<char> bound(graph_.outputs.size(), 0);
  for (const Slot& slot : program_.slots)
    if (slot.kind == SlotKind::kOutput) bound[static_cast<std::size_t>(slot.io_index)] = 1;
  for (std::size_t i = 0; i < graph_.outputs.size(); ++i) {
    const int value = graph_.outputs[i];
    const int from = slot_of(value);
    if (bound[i] && program_.slots[static_cast<std::size_t>(from)].io_index == static_cast<int>(i)) {
      program_.output_slots.push_back(from);
      continue;
    }
    const Value& v = graph_.value(value);
    Slot slot = plain_slot(v.dtype, v.shape, SlotKind::kOutput);
    slot.io_index = static_cast<int>(i);
    const int to = add_slot(std::move(slot));
    program_.output_slots.push_back(to);
    const Slot& source = program_.slots[static_cast<std::size_t>(from)];
    const Slot& target = program_.slots[static_cast<std::size_t>(to)];
    if (source.desc && target.desc) {
      const dnnl::reorder::primitive_desc pd(engine_, *source.desc, engine_, *target.desc, attr());
      emit(producers_[static_cast<std::size_t>(value)], dnnl::reorder(pd), pd.scratchpad_desc(), {{DNNL_ARG_SRC, from}, {DNNL_ARG_DST, to}});
    } else {
      Step step;
      step.node = producers_[static_cast<std::size_t>(value)];
      step.copy = true;
      step.inputs = step.reads = {from};
      step.outputs = step.writes = {to};
      program_.steps.push_back(std::move(step));
    }
  }
}

Program Lowering::run() {
  for (std::size_t n = 0; n < graph_.nodes.size(); ++n) {
    const Node& node = graph_.nodes[n];
    try {
      if (node.impl == kDnnlImpl) {
        lower_dnnl(static_cast<int>(n));
      } else if (node.impl == kRefImpl) {
        lower_reference(static_cast<int>(n));
      } else {
        throw Error("implementation '" + node.impl + "' is not one of the cpu backend's (" + std::string(kDnnlImpl) +
                    ", " + std::string(kRefImpl) + "): rebuild the plan for backend cpu");
      }
    } catch (const dnnl::error& e) {
      throw Error(graph_.describe(node) + ": oneDNN could not lower it: " + e.what());
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find(node.name) != std::string::npos) throw;
      throw Error(graph_.describe(node) + ": " + what);
    }
  }
  bind_outputs();
  return std::move(program_);
}

}  // namespace detstream::inference::cpu
