// Lowering: turns a cpu plan's graph into a Program. Walks the nodes in order; "cpu.dnnl" nodes
// become oneDNN primitives whose activations keep the layouts oneDNN chose (format `any`), and
// "cpu.ref" nodes become reference-kernel steps over plain buffers. A reorder is inserted only
// where a consumer needs another layout or type than the producer made (graph boundary, reference
// nodes, a primitive that insists), and each such conversion is made once and shared. Weights are
// reordered (and for bf16 converted) here, once. Single-threaded, build-time only.
#pragma once

#include <vector>

#include <dnnl.hpp>

#include "inference/cpu/program.h"
#include "inference/graph/graph.h"
#include "inference/plan/plan.h"

namespace detstream::inference::cpu {

class Lowering {
 public:
  Lowering(const Graph& graph, Precision precision, const dnnl::engine& engine);
  // Lowers every node and binds the graph outputs. Throws Error naming the node that fails.
  Program run();

  // ---- for the per-op lowerers (lower_*.cpp) ----
  const Graph& graph() const { return graph_; }
  const dnnl::engine& engine() const { return engine_; }
  // bf16 inside the oneDNN region of a bf16 plan, f32 otherwise (see decide_compute_types).
  dnnl::memory::data_type compute_type(int node) const { return compute_types_[static_cast<std::size_t>(node)]; }
  // The slot holding `value` as produced.
  int slot_of(int value) const;
  const Slot& slot(int slot) const { return program_.slots[static_cast<std::size_t>(slot)]; }
  // The slot holding `slot`'s tensor in layout `want`: itself, or a shared converted copy made by a
  // reorder booked to `node`.
  int convert(int slot, const dnnl::memory::desc& want, int node);
  // `slot` converted to type `type`, keeping its layout.
  int with_type(int slot, dnnl::memory::data_type type, int node);
  // A new arena slot for `value` with layout `desc`; becomes the value's slot.
  int define(int value, const dnnl::memory::desc& desc);
  // Makes `slot` the value's slot (for views that are the value: Reshape).
  void bind(int value, int slot);
  // A slot aliasing `parent`'s bytes with layout `desc` (a sub-memory or reshaped descriptor).
  int view(int parent, const dnnl::memory::desc& desc);
  // Moves view `view` `bytes` further into its parent.
  void move_view(int view, std::size_t bytes);
  // Turns arena slot `slot` into a view `bytes` into `parent` (whose producer then writes in
  // place); false when the slot cannot move (not arena memory, already placed).
  bool place(int slot, int parent, std::size_t bytes);
  // An engine-owned constant of layout `desc` filled by reordering `source` (plain) into it.
  int constant(const dnnl::memory::desc& desc, const dnnl::memory& source);
  // Appends a primitive step; args whose id is DNNL_ARG_DST are its writes, the others reads.
  void emit(int node, const dnnl::primitive& primitive, const dnnl::memory::desc& scratchpad,
            std::vector<std::pair<int, int>> args);
  // Attribute with user scratchpad (contexts own it) and the given post-ops.
  static dnnl::primitive_attr attr(const dnnl::post_ops& post_ops = dnnl::post_ops());

 private:
  void lower_reference(int node);
  void lower_dnnl(int node);
  void bind_outputs();
  std::vector<dnnl::memory::data_type> decide_compute_types(Precision precision) const;
  int add_slot(Slot slot);

  const Graph& graph_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<dnnl::memory::data_type> compute_types_;
  std::vector<int> value_slots_;
  std::vector<int> producers_;  // node index producing each value, -1 for inputs and constants
  std::vector<std::vector<std::pair<dnnl::memory::desc, int>>> conversions_;  // per slot
  Program program_;
};

// Per-op lowerers, one file each (lower_conv.cpp, ...). Each reads the node's inputs through
// Lowering::slot_of/convert and emits its primitive(s).
void lower_conv(Lowering& lowering, int node);
void lower_max_pool(Lowering& lowering, int node);
void lower_resize(Lowering& lowering, int node);
void lower_concat(Lowering& lowering, int node);
void lower_split(Lowering& lowering, int node);
void lower_binary(Lowering& lowering, int node);
void lower_unary(Lowering& lowering, int node);
void lower_matmul(Lowering& lowering, int node);
void lower_softmax(Lowering& lowering, int node);
void lower_transpose(Lowering& lowering, int node);
void lower_reshape(Lowering& lowering, int node);

}  // namespace detstream::inference::cpu
