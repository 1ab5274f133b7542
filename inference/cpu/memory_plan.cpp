#include "inference/cpu/memory_plan.h"

#include <algorithm>
#include <limits>

namespace detstream::inference::cpu {

namespace {

constexpr std::size_t kAlignment = 64;

std::size_t align_up(std::size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

int root_of(const Program& program, int slot) {
  while (program.slots[static_cast<std::size_t>(slot)].kind == SlotKind::kView) {
    slot = program.slots[static_cast<std::size_t>(slot)].parent;
  }
  return slot;
}

struct Interval {
  int first = std::numeric_limits<int>::max();
  int last = -1;
  bool overlaps(const Interval& other) const { return first <= other.last && other.first <= last; }
};

std::vector<Interval> lifetimes(const Program& program) {
  std::vector<Interval> life(program.slots.size());
  for (std::size_t s = 0; s < program.steps.size(); ++s) {
    const Step& step = program.steps[s];
    for (const auto* list : {&step.reads, &step.writes}) {
      for (int id : *list) {
        Interval& interval = life[static_cast<std::size_t>(root_of(program, id))];
        interval.first = std::min(interval.first, static_cast<int>(s));
        interval.last = std::max(interval.last, static_cast<int>(s));
      }
    }
  }
  return life;
}

}  // namespace

void plan_memory(Program& program) {
  const std::vector<Interval> life = lifetimes(program);
  std::vector<int> order;
  for (std::size_t i = 0; i < program.slots.size(); ++i) {
    if (program.slots[i].kind == SlotKind::kArena && life[i].last >= 0) order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return program.slots[static_cast<std::size_t>(a)].bytes > program.slots[static_cast<std::size_t>(b)].bytes;
  });
  std::vector<int> placed;
  std::size_t arena = 0;
  for (int id : order) {
    Slot& slot = program.slots[static_cast<std::size_t>(id)];
    const std::size_t size = align_up(std::max<std::size_t>(slot.bytes, 1));
    // Occupied ranges of placed slots alive at the same time, by offset.
    std::vector<std::pair<std::size_t, std::size_t>> busy;
    for (int other : placed) {
      if (!life[static_cast<std::size_t>(id)].overlaps(life[static_cast<std::size_t>(other)])) continue;
      const Slot& o = program.slots[static_cast<std::size_t>(other)];
      busy.emplace_back(o.offset, o.offset + align_up(std::max<std::size_t>(o.bytes, 1)));
    }
    std::sort(busy.begin(), busy.end());
    // Best fit: the smallest gap that holds the slot, else the end.
    std::size_t best = std::numeric_limits<std::size_t>::max(), best_gap = best, cursor = 0;
    for (const auto& [begin, end] : busy) {
      if (begin > cursor && begin - cursor >= size && begin - cursor < best_gap) {
        best = cursor;
        best_gap = begin - cursor;
      }
      cursor = std::max(cursor, end);
    }
    slot.offset = best != std::numeric_limits<std::size_t>::max() ? best : cursor;
    arena = std::max(arena, slot.offset + size);
    placed.push_back(id);
  }
  program.arena_bytes = arena;
}

}  // namespace detstream::inference::cpu
