// The activation-arena planner of the CUDA backend (pure C++, no CUDA): given buffers with a
// size and the step interval in which they are live, assigns each an offset in one arena so that
// buffers whose intervals overlap never share bytes while the others reuse memory. Greedy by
// size (largest first, each at the lowest fitting offset among the live ones), the heuristic
// TensorRT and TFLite use; the result is deterministic. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

namespace detstream::inference::cuda {

inline constexpr std::size_t kArenaAlignment = 256;  // cuDNN and 16-byte vector access want it

struct BufferLifetime {
  std::size_t bytes = 0;
  int first_step = 0;  // the step that writes it first
  int last_step = 0;   // the step that reads it last (inclusive)
};

struct ArenaPlan {
  std::vector<std::size_t> offsets;  // one per buffer, multiples of kArenaAlignment
  std::size_t arena_bytes = 0;
};

ArenaPlan plan_arena(const std::vector<BufferLifetime>& buffers);

}  // namespace detstream::inference::cuda
