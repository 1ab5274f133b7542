// Hostile inputs to `detstream run` beyond those in run_test.cpp (missing file, random bytes named
// .mp4, unwritable output folder, a model without a detection head): a zero-length file, a
// truncated mp4, a text file named .mp4, a missing camera, and a disk that fills up mid-run
// (simulated with `ulimit -f`). Each: a clear error naming the problem, a non-zero exit, and no
// output left that looks valid but is not.
#include <gtest/gtest.h>

#include <fstream>

#include "run_fixture.h"
#include "support/video_probe.h"

namespace detstream::testing {
namespace {

namespace fs = std::filesystem;

class HostileInputsTest : public RunFixture {
 protected:
  CommandResult run_on(const std::string& model, const std::string& source, const std::string& prefix = "") {
    auto argv = run_argv(model);
    append(argv, {"--source", source, "--output", path("out.mp4"), "--json", path("dets.jsonl"), "--report",
                  path("report.json"), "--open-timeout", "5"});
    return run_shell(prefix + command_line(argv));
  }
  // Nothing under the output names, and no leftovers beside them.
  void expect_no_outputs() {
    EXPECT_FALSE(fs::exists(path("out.mp4")));
    EXPECT_FALSE(fs::exists(path("out.mp4.partial")));
    EXPECT_FALSE(fs::exists(path("dets.jsonl")));
    EXPECT_FALSE(fs::exists(path("dets.jsonl.partial")));
  }
};

TEST_F(HostileInputsTest, ZeroLengthFileIsAClearError) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  std::ofstream(path("empty.mp4")).close();
  const CommandResult run = run_on(model, path("empty.mp4"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("empty.mp4"), std::string::npos) << run.output;
  expect_no_outputs();
}

TEST_F(HostileInputsTest, TextFileNamedMp4IsAClearError) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  {
    std::ofstream text(path("notes.mp4"));
    for (int i = 0; i < 200; ++i) text << "this is not a video, line " << i << "\n";
  }
  const CommandResult run = run_on(model, path("notes.mp4"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("notes.mp4"), std::string::npos) << run.output;
  expect_no_outputs();
}

TEST_F(HostileInputsTest, TruncatedMp4WithoutItsIndexIsAClearError) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  // Re-muxed with the index (moov) at the end, as a recorder that died mid-file leaves it; then
  // the end, index included, is cut off.
  ASSERT_TRUE(cut_clip(video, 50, path("whole.mp4")));
  const auto size = fs::file_size(path("whole.mp4"));
  {
    std::ifstream in(path("whole.mp4"), std::ios::binary);
    std::ofstream out(path("truncated.mp4"), std::ios::binary);
    std::vector<char> head(size / 2);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
  }
  const CommandResult run = run_on(model, path("truncated.mp4"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("truncated.mp4"), std::string::npos) << run.output;
  expect_no_outputs();
}

TEST_F(HostileInputsTest, MissingCameraIsAClearError) {
  // A camera that vanishes mid-run takes the live reconnect path (as a dropped RTSP stream does,
  // see rtsp_live_test.cpp); this machine has no camera and cannot make one (v4l2loopback is a
  // kernel module), so only the missing-at-start case is tested here.
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  ASSERT_FALSE(fs::exists("/dev/video63"));
  const CommandResult run = run_on(model, "/dev/video63");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("camera '/dev/video63' does not exist"), std::string::npos) << run.output;
  expect_no_outputs();
}

TEST_F(HostileInputsTest, DiskFullMidRunIsAClearErrorAndLeavesNothingBehind) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  // 300 KiB per file: the report (a few KiB) fits, the encoded video does not.
  const CommandResult run = run_on(model, video, "ulimit -f 300; ");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("out.mp4"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("outputs were not finalised"), std::string::npos) << run.output;
  expect_no_outputs();
  ASSERT_TRUE(fs::exists(path("report.json"))) << run.output;
  const nlohmann::json report = read_json(path("report.json"));
  EXPECT_FALSE(report["error"].is_null());
  EXPECT_TRUE(report["outputs"].empty());
}

}  // namespace
}  // namespace detstream::testing
