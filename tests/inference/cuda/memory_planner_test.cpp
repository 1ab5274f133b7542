#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/memory_planner.h"

#include <gtest/gtest.h>

#include <random>

namespace detstream::inference::cuda {
namespace {

bool bytes_overlap(std::size_t a, std::size_t a_bytes, std::size_t b, std::size_t b_bytes) {
  return a < b + b_bytes && b < a + a_bytes;
}

void expect_valid(const std::vector<BufferLifetime>& buffers, const ArenaPlan& plan) {
  ASSERT_EQ(plan.offsets.size(), buffers.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % kArenaAlignment, 0u);
    EXPECT_LE(plan.offsets[i] + buffers[i].bytes, plan.arena_bytes);
    for (std::size_t j = i + 1; j < buffers.size(); ++j) {
      const bool live_together = buffers[i].first_step <= buffers[j].last_step && buffers[j].first_step <= buffers[i].last_step;
      if (live_together) {
        EXPECT_FALSE(bytes_overlap(plan.offsets[i], buffers[i].bytes, plan.offsets[j], buffers[j].bytes))
            << "buffers " << i << " and " << j << " are live together but share bytes";
      }
    }
  }
}

TEST(CudaMemoryPlanner, ReusesMemoryOfBuffersThatAreNotLiveTogether) {
  // A chain a -> b -> c -> d: only neighbours are live together, so two slots suffice.
  const std::vector<BufferLifetime> chain{{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  const ArenaPlan plan = plan_arena(chain);
  expect_valid(chain, plan);
  EXPECT_EQ(plan.arena_bytes, 2 * 1024u);
}

TEST(CudaMemoryPlanner, KeepsBuffersLiveTogetherApart) {
  const std::vector<BufferLifetime> all_live{{300, 0, 5}, {5000, 1, 5}, {17, 2, 3}};
  const ArenaPlan plan = plan_arena(all_live);
  expect_valid(all_live, plan);
  EXPECT_EQ(plan.arena_bytes, 512u + 5120u + 256u);
}

TEST(CudaMemoryPlanner, RandomLifetimesNeverCollideAndBeatNoReuse) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<BufferLifetime> buffers;
    std::size_t total = 0;
    for (int i = 0; i < 40; ++i) {
      const int first = static_cast<int>(rng() % 30);
      const int last = first + static_cast<int>(rng() % 6);
      const std::size_t bytes = 1 + rng() % 100000;
      buffers.push_back({bytes, first, last});
      total += (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    }
    const ArenaPlan plan = plan_arena(buffers);
    expect_valid(buffers, plan);
    EXPECT_LE(plan.arena_bytes, total);
    std::size_t peak = 0;  // the arena can never be smaller than the most bytes live at one step
    for (int step = 0; step < 40; ++step) {
      std::size_t live = 0;
      for (const auto& b : buffers) live += (b.first_step <= step && step <= b.last_step) ? b.bytes : 0;
      peak = std::max(peak, live);
    }
    EXPECT_GE(plan.arena_bytes, peak);
  }
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
