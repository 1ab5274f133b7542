// The activation memory planner: slots alive at the same time never share bytes; dead ones are
// reused; views keep their parent alive.
#include "inference/cpu/memory_plan.h"

#include <gtest/gtest.h>

namespace detstream::inference::cpu {
namespace {

int add_slot(Program& program, std::size_t bytes, SlotKind kind = SlotKind::kArena, int parent = -1) {
  Slot slot;
  slot.bytes = bytes;
  slot.kind = kind;
  slot.parent = parent;
  program.slots.push_back(slot);
  return static_cast<int>(program.slots.size()) - 1;
}

void add_step(Program& program, std::vector<int> reads, std::vector<int> writes) {
  Step step;
  step.reads = std::move(reads);
  step.writes = std::move(writes);
  program.steps.push_back(std::move(step));
}

bool disjoint(const Slot& a, const Slot& b) { return a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset; }

TEST(MemoryPlan, ChainReusesDeadBuffers) {
  Program program;
  const int input = add_slot(program, 1000, SlotKind::kInput);
  std::vector<int> chain;
  for (int i = 0; i < 6; ++i) chain.push_back(add_slot(program, 1000));
  add_step(program, {input}, {chain[0]});
  for (int i = 1; i < 6; ++i) add_step(program, {chain[static_cast<std::size_t>(i - 1)]}, {chain[static_cast<std::size_t>(i)]});
  plan_memory(program);
  // A chain needs two live buffers at a time, not six.
  EXPECT_LE(program.arena_bytes, 2 * 1024u);
  for (int i = 1; i < 6; ++i) {
    EXPECT_TRUE(disjoint(program.slots[static_cast<std::size_t>(chain[static_cast<std::size_t>(i - 1)])],
                         program.slots[static_cast<std::size_t>(chain[static_cast<std::size_t>(i)])]));
  }
}

TEST(MemoryPlan, LongLivedSkipConnectionIsNeverOverwritten) {
  Program program;
  const int skip = add_slot(program, 4096);
  const int a = add_slot(program, 512), b = add_slot(program, 512), c = add_slot(program, 8192);
  add_step(program, {}, {skip});
  add_step(program, {skip}, {a});
  add_step(program, {a}, {b});
  add_step(program, {b, skip}, {c});
  plan_memory(program);
  for (int other : {a, b, c}) EXPECT_TRUE(disjoint(program.slots[static_cast<std::size_t>(skip)], program.slots[static_cast<std::size_t>(other)]));
  EXPECT_TRUE(disjoint(program.slots[static_cast<std::size_t>(a)], program.slots[static_cast<std::size_t>(b)]));
  EXPECT_EQ(program.slots[static_cast<std::size_t>(a)].offset % 64, 0u);
}

TEST(MemoryPlan, ViewsKeepTheirParentAlive) {
  Program program;
  const int parent = add_slot(program, 2048);
  const int view = add_slot(program, 0, SlotKind::kView, parent);
  const int mid = add_slot(program, 2048), last = add_slot(program, 2048);
  add_step(program, {}, {parent});
  add_step(program, {}, {mid});
  add_step(program, {mid}, {last});
  add_step(program, {view}, {});
  plan_memory(program);
  for (int other : {mid, last}) EXPECT_TRUE(disjoint(program.slots[static_cast<std::size_t>(parent)], program.slots[static_cast<std::size_t>(other)]));
}

}  // namespace
}  // namespace detstream::inference::cpu
