#include "inference/cuda/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace detstream::inference::cuda {

namespace {

std::size_t align_up(std::size_t bytes) { return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

bool overlaps(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

struct Placed {
  std::size_t offset;
  std::size_t end;
};

}  // namespace

ArenaPlan plan_arena(const std::vector<BufferLifetime>& buffers) {
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Largest first; ties by first use so that equal plans come out for equal graphs.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (buffers[a].bytes != buffers[b].bytes) return buffers[a].bytes > buffers[b].bytes;
    return buffers[a].first_step < buffers[b].first_step;
  });
  ArenaPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<std::size_t> placed;  // indices already given an offset
  std::vector<Placed> live;
  for (std::size_t index : order) {
    const std::size_t size = align_up(std::max<std::size_t>(buffers[index].bytes, 1));
    live.clear();
    for (std::size_t other : placed) {
      if (overlaps(buffers[index], buffers[other])) {
        live.push_back({plan.offsets[other], plan.offsets[other] + align_up(std::max<std::size_t>(buffers[other].bytes, 1))});
      }
    }
    std::sort(live.begin(), live.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    // Best fit: the smallest gap between live buffers that holds this one, else after the last.
    std::size_t best = 0, best_gap = static_cast<std::size_t>(-1), cursor = 0;
    bool found = false;
    for (const Placed& p : live) {
      if (p.offset >= cursor && p.offset - cursor >= size && p.offset - cursor < best_gap) {
        best = cursor;
        best_gap = p.offset - cursor;
        found = true;
      }
      cursor = std::max(cursor, p.end);
    }
    if (!found) best = cursor;
    plan.offsets[index] = best;
    plan.arena_bytes = std::max(plan.arena_bytes, best + size);
    placed.push_back(index);
  }
  return plan;
}

}  // namespace detstream::inference::cuda
