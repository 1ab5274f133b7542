#include "inference/cuda/stream_schedule.h"

#include <algorithm>
#include <cstdint>

namespace detstream::inference::cuda {

namespace {

struct ByteRange {
  std::size_t begin = 0, end = 0;  // [begin, end) within the arena
  bool overlaps(const ByteRange& other) const { return begin < other.end && other.begin < end; }
};

// The span of arena bytes `ref` may touch; nothing for constants (never written by a step).
bool arena_range(const LoweredGraph& lowered, const TensorRef& ref, ByteRange& range) {
  if (!ref.valid() || lowered.roots[static_cast<std::size_t>(ref.root)].kind != RootKind::kArena) return false;
  std::int64_t last = ref.offset;
  for (std::size_t d = 0; d < ref.shape.size(); ++d) last += (ref.shape[d] - 1) * std::max<std::int64_t>(ref.strides[d], 0);
  const std::size_t element = element_size(ref.dtype);
  const std::size_t base = lowered.roots[static_cast<std::size_t>(ref.root)].arena_offset;
  range = {base + static_cast<std::size_t>(ref.offset) * element, base + static_cast<std::size_t>(last + 1) * element};
  return true;
}

struct Access {
  std::vector<ByteRange> reads, writes;
};

Access access_of(const LoweredGraph& lowered, const Step& step) {
  Access a;
  ByteRange r;
  for (const TensorRef& in : step.inputs)
    if (arena_range(lowered, in, r)) a.reads.push_back(r);
  if (arena_range(lowered, step.output, r)) a.writes.push_back(r);
  for (const TensorRef& out : step.chained_outputs)
    if (arena_range(lowered, out, r)) a.writes.push_back(r);
  if (step.upsampled.valid() && arena_range(lowered, step.upsampled, r)) a.writes.push_back(r);
  return a;
}

bool any_overlap(const std::vector<ByteRange>& a, const std::vector<ByteRange>& b) {
  for (const ByteRange& x : a)
    for (const ByteRange& y : b)
      if (x.overlaps(y)) return true;
  return false;
}

bool conflicts(const Access& earlier, const Access& later) {
  return any_overlap(earlier.writes, later.reads) || any_overlap(earlier.reads, later.writes) ||
         any_overlap(earlier.writes, later.writes);
}

// The stream a step continues: that of its latest dependency still at the tail of its stream (no
// wait needed there); otherwise the stream idle the longest.
int pick_stream(const std::vector<int>& depends, const std::vector<int>& stream_of, const std::vector<int>& tail) {
  for (auto d = depends.rbegin(); d != depends.rend(); ++d) {
    const int s = stream_of[static_cast<std::size_t>(*d)];
    if (tail[static_cast<std::size_t>(s)] == *d) return s;
  }
  return static_cast<int>(std::min_element(tail.begin(), tail.end()) - tail.begin());
}

// StreamSchedule::slack over the DAG of stream order and waits.
std::vector<int> slack_of(const StreamSchedule& s) {
  const std::size_t n = s.stream.size();
  std::vector<std::vector<int>> before(n);
  std::vector<int> tail(static_cast<std::size_t>(s.streams), -1);
  for (std::size_t k = 0; k < n; ++k) {
    before[k] = s.waits[k];
    if (const int t = tail[static_cast<std::size_t>(s.stream[k])]; t >= 0) before[k].push_back(t);
    tail[static_cast<std::size_t>(s.stream[k])] = static_cast<int>(k);
  }
  std::vector<int> from(n, 1), to(n, 1);  // longest chains ending and starting at each step
  for (std::size_t k = 0; k < n; ++k)
    for (const int b : before[k]) from[k] = std::max(from[k], from[static_cast<std::size_t>(b)] + 1);
  for (std::size_t k = n; k-- > 0;)
    for (const int b : before[k]) to[static_cast<std::size_t>(b)] = std::max(to[static_cast<std::size_t>(b)], to[k] + 1);
  const int longest = n ? *std::max_element(from.begin(), from.end()) : 0;
  std::vector<int> slack(n);
  for (std::size_t k = 0; k < n; ++k) slack[k] = longest - (from[k] + to[k] - 1);
  return slack;
}

}  // namespace

StreamSchedule schedule_streams(const LoweredGraph& lowered, int max_streams) {
  const std::size_t n = lowered.steps.size();
  std::vector<Access> access;
  for (const Step& step : lowered.steps) access.push_back(access_of(lowered, step));
  StreamSchedule schedule;
  schedule.stream.assign(n, 0);
  schedule.waits.assign(n, {});
  schedule.depends.assign(n, {});
  std::vector<int> tail(static_cast<std::size_t>(std::max(max_streams, 1)), -1);
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t e = 0; e < k; ++e)
      if (conflicts(access[e], access[k])) schedule.depends[k].push_back(static_cast<int>(e));
    const int s = max_streams > 1 ? pick_stream(schedule.depends[k], schedule.stream, tail) : 0;
    schedule.stream[k] = s;
    // Per other stream, the latest dependency on it: earlier ones are ordered before it there.
    std::vector<int> latest(tail.size(), -1);
    for (const int d : schedule.depends[k]) {
      const int t = schedule.stream[static_cast<std::size_t>(d)];
      if (t != s) latest[static_cast<std::size_t>(t)] = std::max(latest[static_cast<std::size_t>(t)], d);
    }
    for (const int d : latest)
      if (d >= 0) schedule.waits[k].push_back(d);
    tail[static_cast<std::size_t>(s)] = static_cast<int>(k);
    schedule.streams = std::max(schedule.streams, s + 1);
  }
  schedule.slack = slack_of(schedule);
  return schedule;
}

}  // namespace detstream::inference::cuda
