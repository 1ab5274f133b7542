// The stream schedule on the CPU: on real models' lowered programs, every pair of steps that touch
// the same arena bytes (read-after-write, write-after-read, write-after-write) is ordered by the
// schedule (same stream in program order, or an event wait, transitively); branches are found
// (several streams, a critical path shorter than the program); one stream means no waits.
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/stream_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "inference/builder/builder.h"
#include "support/shared_data.h"

namespace detstream::inference::cuda {
namespace {

LoweredGraph lowered_model(const std::string& model) {
  BuildOptions options;
  options.backend = "ref";
  LoweringOptions lowering;  // as the engine lowers by default (lowering_options_from_environment)
  lowering.conv_strided_input = lowering.conv_strided_output = true;
  return lower_graph(build_plan_from_onnx(model, options).graph, Precision::kFp16, lowering);
}

// done[k][e]: step e has finished before step k starts, by stream order and waits.
std::vector<std::vector<bool>> happens_before(const StreamSchedule& s) {
  const std::size_t n = s.stream.size();
  std::vector<std::vector<bool>> done(n, std::vector<bool>(n, false));
  std::vector<int> tail(static_cast<std::size_t>(s.streams), -1);
  for (std::size_t k = 0; k < n; ++k) {
    std::vector<int> before;
    if (const int t = tail[static_cast<std::size_t>(s.stream[k])]; t >= 0) before.push_back(t);
    before.insert(before.end(), s.waits[k].begin(), s.waits[k].end());
    for (const int b : before) {
      done[k][static_cast<std::size_t>(b)] = true;
      for (std::size_t e = 0; e < n; ++e)
        if (done[static_cast<std::size_t>(b)][e]) done[k][e] = true;
    }
    tail[static_cast<std::size_t>(s.stream[k])] = static_cast<int>(k);
  }
  return done;
}

std::size_t critical_path(const StreamSchedule& s) {
  std::vector<std::size_t> depth(s.stream.size(), 1);
  std::vector<int> tail(static_cast<std::size_t>(s.streams), -1);
  for (std::size_t k = 0; k < s.stream.size(); ++k) {
    std::vector<int> before(s.waits[k]);
    if (const int t = tail[static_cast<std::size_t>(s.stream[k])]; t >= 0) before.push_back(t);
    for (const int b : before) depth[k] = std::max(depth[k], depth[static_cast<std::size_t>(b)] + 1);
    tail[static_cast<std::size_t>(s.stream[k])] = static_cast<int>(k);
  }
  return *std::max_element(depth.begin(), depth.end());
}

class CudaStreamSchedule : public ::testing::TestWithParam<const char*> {};

// Slack: no chain through a step is longer than the schedule's longest, the first and the last
// steps are on a critical path, and so is a chain of steps of slack 0 from the first to the last;
// with several streams some branch has slack, with one stream none does.
TEST_P(CudaStreamSchedule, SlackMarksTheCriticalPath) {
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + GetParam());
  const LoweredGraph lowered = lowered_model(model);
  const StreamSchedule s = schedule_streams(lowered, 4);
  ASSERT_EQ(s.slack.size(), s.stream.size());
  const std::size_t longest = critical_path(s);
  EXPECT_EQ(s.slack.front(), 0);
  EXPECT_EQ(s.slack.back(), 0);
  EXPECT_TRUE(std::all_of(s.slack.begin(), s.slack.end(), [&](int v) { return v >= 0 && static_cast<std::size_t>(v) < longest; }));
  EXPECT_GT(*std::max_element(s.slack.begin(), s.slack.end()), 0) << "a side branch";
  const std::size_t critical = static_cast<std::size_t>(std::count(s.slack.begin(), s.slack.end(), 0));
  EXPECT_GE(critical, longest) << "every step of one longest chain has no slack";
  const StreamSchedule one = schedule_streams(lowered, 1);
  EXPECT_TRUE(std::all_of(one.slack.begin(), one.slack.end(), [](int v) { return v == 0; }));
}

TEST_P(CudaStreamSchedule, EveryConflictIsOrderedAndBranchesRunSideBySide) {
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + GetParam());
  const LoweredGraph lowered = lowered_model(model);
  const StreamSchedule s = schedule_streams(lowered, 4);
  ASSERT_EQ(s.stream.size(), lowered.steps.size());
  const auto done = happens_before(s);
  std::size_t conflicts = 0;
  for (std::size_t k = 0; k < s.stream.size(); ++k) {
    for (const int e : s.depends[k]) {
      ++conflicts;
      EXPECT_TRUE(done[k][static_cast<std::size_t>(e)]) << "step " << k << " may run before step " << e << " finishes";
    }
    // Producers are dependencies: a step after its input's writer conflicts with it.
    if (k > 0) {
      EXPECT_FALSE(s.depends[k].empty()) << "step " << k << " reads nothing an earlier step wrote";
    }
  }
  EXPECT_GT(conflicts, s.stream.size());
  EXPECT_GT(s.streams, 1);
  EXPECT_LE(s.streams, 4);
  const std::size_t path = critical_path(s);
  EXPECT_LT(path, s.stream.size());
  std::printf("[ streams ] %s: %zu steps on %d streams, critical path %zu steps\n", GetParam(), s.stream.size(), s.streams, path);
}

TEST_P(CudaStreamSchedule, OneStreamIsProgramOrderWithoutWaits) {
  DETSTREAM_REQUIRE_SHARED(model, std::string("models/") + GetParam());
  const StreamSchedule s = schedule_streams(lowered_model(model), 1);
  EXPECT_EQ(s.streams, 1);
  for (std::size_t k = 0; k < s.stream.size(); ++k) {
    EXPECT_EQ(s.stream[k], 0);
    EXPECT_TRUE(s.waits[k].empty());
  }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, CudaStreamSchedule, ::testing::Values("yolov8n.onnx", "yolov8n_4cls_320.onnx"),
                         [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('.'));
                         });

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
