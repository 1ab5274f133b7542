#include "inference/cpu/cpu_context.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "inference/cpu/dnnl_platform.h"

namespace detstream::inference::cpu {

namespace {
constexpr std::size_t kAlignment = 64;
}  // namespace

void CpuContext::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

CpuContext::Buffer CpuContext::allocate(std::size_t bytes) {
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(kAlignment, rounded));
  if (!p) throw std::bad_alloc();
  // Touch the pages now, not during the first inference.
  std::memset(p, 0, rounded);
  return Buffer(p);
}

CpuContext::CpuContext(const CpuEngine& engine)
    : engine_(engine),
      program_(engine.program()),
      arena_(allocate(program_.arena_bytes)),
      scratchpad_(allocate(program_.scratchpad_bytes)),
      stream_(engine.engine()),
      times_(engine.graph().nodes.size(), 0.0) {
  bind_slots();
  bind_steps();
}

void CpuContext::bind_slots() {
  const auto& slots = program_.slots;
  pointers_.assign(slots.size(), nullptr);
  memories_.resize(slots.size());
  std::vector<char> resolved(slots.size(), 0), io(slots.size(), 0);
  // A view may name a parent made after it (concat outputs adopt their inputs): resolve parents
  // first, so that io_slots_ also lists every parent before its views.
  auto resolve = [&](auto& self, std::size_t i) -> void {
    if (resolved[i]) return;
    resolved[i] = 1;
    const Slot& slot = slots[i];
    switch (slot.kind) {
      case SlotKind::kArena: pointers_[i] = arena_.get() + slot.offset; break;
      case SlotKind::kConstant: pointers_[i] = static_cast<std::byte*>(const_cast<void*>(slot.constant)); break;
      case SlotKind::kView: {
        const auto parent = static_cast<std::size_t>(slot.parent);
        self(self, parent);
        io[i] = io[parent];
        if (!io[i]) pointers_[i] = pointers_[parent] + slot.offset;
        break;
      }
      case SlotKind::kInput:
      case SlotKind::kOutput: io[i] = 1; break;
    }
    if (io[i]) io_slots_.push_back(static_cast<int>(i));
  };
  for (std::size_t i = 0; i < slots.size(); ++i) {
    resolve(resolve, i);
    // Caller-bound slots get a placeholder handle until execute binds the caller's buffer.
    if (slots[i].desc) memories_[i] = dnnl::memory(*slots[i].desc, engine_.engine(), io[i] ? arena_.get() : pointers_[i]);
  }
}

void CpuContext::bind_steps() {
  const auto& steps = program_.steps;
  args_.resize(steps.size());
  scratch_memories_.resize(steps.size());
  ref_inputs_.resize(steps.size());
  ref_outputs_.resize(steps.size());
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const Step& step = steps[s];
    if (step.primitive) {
      for (const auto& [arg, slot] : step.args) args_[s].push_back({arg, memories_[static_cast<std::size_t>(slot)].get()});
      scratch_memories_[s] = dnnl::memory(step.scratchpad, engine_.engine(), scratchpad_.get());
      args_[s].push_back({DNNL_ARG_SCRATCHPAD, scratch_memories_[s].get()});
      continue;
    }
    const auto& slots = program_.slots;
    for (int id : step.inputs) {
      if (id < 0) {
        ref_inputs_[s].emplace_back();
        continue;
      }
      const Slot& slot = slots[static_cast<std::size_t>(id)];
      ref_inputs_[s].push_back(ConstTensorView{slot.dtype, slot.shape, pointers_[static_cast<std::size_t>(id)]});
    }
    for (int id : step.outputs) {
      if (id < 0) {
        ref_outputs_[s].emplace_back();
        continue;
      }
      const Slot& slot = slots[static_cast<std::size_t>(id)];
      ref_outputs_[s].push_back(TensorView{slot.dtype, slot.shape, pointers_[static_cast<std::size_t>(id)]});
    }
  }
}

void CpuContext::bind_io(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) {
  for (int id : io_slots_) {
    const Slot& slot = program_.slots[static_cast<std::size_t>(id)];
    std::byte* p = nullptr;
    if (slot.kind == SlotKind::kInput) {
      p = static_cast<std::byte*>(const_cast<void*>(inputs[static_cast<std::size_t>(slot.io_index)].data));
    } else if (slot.kind == SlotKind::kOutput) {
      p = static_cast<std::byte*>(outputs[static_cast<std::size_t>(slot.io_index)].data);
    } else {
      p = pointers_[static_cast<std::size_t>(slot.parent)] + slot.offset;
    }
    // Rebinding costs oneDNN an allocation: skip it when the caller reuses their buffers.
    if (pointers_[static_cast<std::size_t>(id)] == p) continue;
    pointers_[static_cast<std::size_t>(id)] = p;
    if (memories_[static_cast<std::size_t>(id)]) memories_[static_cast<std::size_t>(id)].set_data_handle(p);
  }
}

Status CpuContext::run_step(std::size_t index) {
  const Step& step = program_.steps[index];
  if (step.primitive) {
    const auto& args = args_[index];
    const dnnl_status_t status =
        dnnl_primitive_execute(step.primitive->get(), stream_.get(), static_cast<int>(args.size()), args.data());
    if (status != dnnl_success) {
      const std::string where =
          step.node >= 0 ? engine_.graph().describe(engine_.graph().nodes[static_cast<std::size_t>(step.node)]) : "output copy";
      return Status::error(where + ": oneDNN primitive failed with status " + std::to_string(static_cast<int>(status)));
    }
    return Status::ok();
  }
  const auto& slots = program_.slots;
  if (step.copy) {
    const int from = step.inputs[0], to = step.outputs[0];
    std::memcpy(pointers_[static_cast<std::size_t>(to)], pointers_[static_cast<std::size_t>(from)],
                slots[static_cast<std::size_t>(to)].bytes);
    return Status::ok();
  }
  auto& in = ref_inputs_[index];
  auto& out = ref_outputs_[index];
  for (std::size_t i = 0; i < in.size(); ++i)
    if (step.inputs[i] >= 0) in[i].data = pointers_[static_cast<std::size_t>(step.inputs[i])];
  for (std::size_t i = 0; i < out.size(); ++i)
    if (step.outputs[i] >= 0) out[i].data = pointers_[static_cast<std::size_t>(step.outputs[i])];
  try {
    step.schema->compute(engine_.graph().nodes[static_cast<std::size_t>(step.node)], in, out);
  } catch (const std::exception& e) {
    return Status::error(e.what());
  }
  return Status::ok();
}

Status CpuContext::execute(std::span<const ConstTensorView> inputs, std::span<const TensorView> outputs) {
  const ThreadScope scope(engine_.threads());
  bind_io(inputs, outputs);
  if (profiling_) std::fill(times_.begin(), times_.end(), 0.0);
  for (std::size_t s = 0; s < program_.steps.size(); ++s) {
    const auto start = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    if (Status status = run_step(s); !status) return status;
    const int node = program_.steps[s].node;
    if (profiling_ && node >= 0) {
      times_[static_cast<std::size_t>(node)] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  }
  stream_.wait();
  return Status::ok();
}

}  // namespace detstream::inference::cpu
