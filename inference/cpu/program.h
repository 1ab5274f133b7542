// The compiled form of a plan for the cpu backend: slots (every tensor a context holds, with its
// physical oneDNN layout and where its bytes live) and steps (oneDNN primitives or reference
// kernels, in execution order, naming the slots they read and write). Built once by the lowering
// and the memory planner; immutable afterwards and shared by every context of an engine.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "inference/core/tensor.h"
#include "inference/ops/op_schema.h"

namespace detstream::inference::cpu {

enum class SlotKind {
  kArena,     // activation memory in the context's arena at `offset`
  kView,      // a region of slot `parent` starting `offset` bytes into it
  kInput,     // the caller's graph input `io_index`, bound per execute
  kOutput,    // the caller's graph output `io_index`, bound per execute
  kConstant,  // engine-owned bytes at `constant` (weights, folded constants)
};

struct Slot {
  DataType dtype = DataType::kUndefined;
  Shape shape;                                // logical (ONNX) shape
  std::optional<dnnl::memory::desc> desc;     // physical layout; absent for types oneDNN lacks
  std::size_t bytes = 0;
  SlotKind kind = SlotKind::kArena;
  int io_index = -1;
  int parent = -1;
  std::size_t offset = 0;
  const void* constant = nullptr;
};

struct Step {
  int node = -1;  // the graph node this step's time is booked to
  // A oneDNN primitive and its arguments (DNNL_ARG_*, slot); scratchpad comes from the context.
  std::optional<dnnl::primitive> primitive;
  std::vector<std::pair<int, int>> args;
  dnnl::memory::desc scratchpad;  // the part of the context's scratchpad it uses
  // A reference kernel over plain buffers; -1 marks an absent optional input.
  const OpSchema* schema = nullptr;
  std::vector<int> inputs;
  std::vector<int> outputs;
  // A plain byte copy (types oneDNN cannot reorder): outputs[0] <- inputs[0].
  bool copy = false;

  std::vector<int> reads;   // slots read, for lifetimes
  std::vector<int> writes;  // slots written
};

struct Program {
  std::vector<Slot> slots;
  std::vector<Step> steps;
  std::vector<int> input_slots;   // per graph input
  std::vector<int> output_slots;  // per graph output
  std::size_t arena_bytes = 0;
  std::size_t scratchpad_bytes = 0;
  std::vector<dnnl::memory> constants;  // keeps reordered weights alive
};

}  // namespace detstream::inference::cpu
