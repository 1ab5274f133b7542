// `detstream run` on a real RTSP stream: tests/tools/rtsp_loop_server (gst-rtsp-server) serves a
// file from ../shared/videos in a loop on 127.0.0.1. The server is killed (SIGKILL, as a crashed
// camera) and restarted to check the reconnect path: capped exponential backoff, outages reported
// (never filled with invented frames), the same outputs kept, and a clean end with exit code 3
// once --max-reconnects is used up. Also: a file source never reconnects.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <future>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <thread>

#include "run_fixture.h"
#include "support/video_probe.h"

namespace detstream::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string rtsp_server_binary() {
  return std::string(DETSTREAM_BINARY_DIR) + "/tests/tools/detstream_rtsp_loop_server";
}

// A port nobody listens on now (the kernel picks it; it is released at once for the server).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

template <typename Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class RtspLiveTest : public RunFixture {
 protected:
  void SetUp() override {
    RunFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!fs::exists(rtsp_server_binary())) {
      if (running_in_ci()) FAIL() << rtsp_server_binary() << " is not built (libgstrtspserver-1.0-dev missing?)";
      GTEST_SKIP() << "\n\n*** SKIPPED: " << rtsp_server_binary() << " is not built ***\n";
    }
    port_ = free_port();
    ASSERT_GT(port_, 0);
    url_ = "rtsp://127.0.0.1:" + std::to_string(port_) + "/x";
  }

  // Starts (or restarts) the server; waits until it listens.
  void start_server(const std::string& video) {
    const std::string log = path("server_" + std::to_string(++server_starts_) + ".log");
    server_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{rtsp_server_binary(), "--file", video, "--port", std::to_string(port_)}, log);
    ASSERT_TRUE(wait_until([&] { return read_text(log).find("ready") != std::string::npos; }, 10s)) << read_text(log);
  }
  void kill_server() {
    server_->signal(SIGKILL);
    server_->wait();
    server_.reset();
  }
  long jsonl_lines() const { return count_lines(path("dets.jsonl.partial")); }

  int port_ = -1;
  std::string url_;
  int server_starts_ = 0;
  std::unique_ptr<BackgroundProcess> server_;
};

TEST_F(RtspLiveTest, StreamIsDetectedWithLowLatencyDefaults) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  start_server(video);
  auto argv = run_argv(model);
  append(argv, {("--source"), url_, ("--max-frames"), ("30"), ("--json"), path("dets.jsonl"), ("--report"),
                path("report.json"), ("--output"), path("out.mp4")});
  const CommandResult run = run_shell(command_line(argv));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("(live)"), std::string::npos) << run.output;
  const nlohmann::json report = read_json(path("report.json"));
  EXPECT_EQ(report["frames_out"].get<long>(), 30);
  EXPECT_EQ(count_lines(path("dets.jsonl")), 30);
  EXPECT_EQ(count_video_frames(path("out.mp4")), 30);
  // Live defaults: every inter-stage queue drops its oldest frame rather than fall behind.
  for (const char* stage : {"preprocess", "inference", "postprocess", "render", "sink"}) {
    EXPECT_EQ(report["stages"][stage]["queue_policy"], "drop-oldest") << stage;
  }
  EXPECT_LE(report["latency_ms"]["p50"].get<double>(), report["latency_ms"]["p99"].get<double>());
  EXPECT_GT(report["latency_ms"]["p50"].get<double>(), 0.0);
  EXPECT_EQ(report["connection"]["reconnects"].get<int>(), 0);
  // The clip shows pedestrians: people are found in most frames.
  std::ifstream jsonl(path("dets.jsonl"));
  long frames_with_people = 0;
  for (std::string line; std::getline(jsonl, line);) {
    const nlohmann::json frame = nlohmann::json::parse(line);
    for (const auto& d : frame["detections"]) {
      if (d["class_name"] == "person") {
        ++frames_with_people;
        break;
      }
    }
  }
  EXPECT_GT(frames_with_people, 20);
}

TEST_F(RtspLiveTest, ServerKilledAndRestartedThreeTimesIsReconnectedAndReported) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  start_server(video);
  auto argv = run_argv(model);
  append(argv,
         {"--source", url_, "--json", path("dets.jsonl"), "--report", path("report.json"), "--output", path("out.mp4"),
          "--reconnect-backoff-initial", "0.25", "--reconnect-backoff-max", "1", "--stall-timeout", "3"});
  BackgroundProcess run(argv, path("run.log"));
  ASSERT_TRUE(wait_until([&] { return jsonl_lines() >= 10; }, 60s)) << read_text(path("run.log"));
  constexpr int kOutages = 3;
  constexpr auto kDowntime = 1500ms;
  for (int outage = 0; outage < kOutages; ++outage) {
    kill_server();
    std::this_thread::sleep_for(kDowntime);
    start_server(video);
    const long before = jsonl_lines();
    ASSERT_TRUE(wait_until([&] { return jsonl_lines() >= before + 10; }, 30s))
        << "no frames after restart " << outage + 1 << "\n"
        << read_text(path("run.log"));
  }
  run.signal(SIGINT);
  ASSERT_EQ(run.wait(), 0) << read_text(path("run.log"));
  const std::string log = read_text(path("run.log"));

  const nlohmann::json report = read_json(path("report.json"));
  const auto& connection = report["connection"];
  ASSERT_TRUE(connection.is_object()) << report.dump(2);
  EXPECT_EQ(connection["reconnects"].get<int>(), kOutages) << log;
  ASSERT_EQ(connection["outages"].size(), static_cast<std::size_t>(kOutages)) << log;
  EXPECT_FALSE(connection["gave_up"].get<bool>());
  for (const auto& outage : connection["outages"]) {
    EXPECT_TRUE(outage["recovered"].get<bool>());
    EXPECT_GE(outage["seconds"].get<double>(), 1.0) << outage.dump();
    EXPECT_GE(outage["attempts"].get<int>(), 1);
    EXPECT_GT(outage["frames_missing"].get<long>(), 0) << outage.dump();
  }
  EXPECT_GE(connection["outage_s"].get<double>(), kOutages * 1.0);
  std::cout << "[ measured ] " << kOutages << " outages, reconnects " << connection["reconnects"]
            << ", failed attempts " << connection["failed_attempts"] << ", outage " << connection["outage_s"]
            << " s, frames missing " << connection["frames_missing"] << ", frames out " << report["frames_out"] << "\n";

  // One output across all connections: every frame in the video and in the JSONL, numbered
  // without holes, the outages visible as jumps in pts_ms (a frame after a gap), none invented.
  const long frames_out = report["frames_out"].get<long>();
  EXPECT_EQ(count_lines(path("dets.jsonl")), frames_out);
  EXPECT_EQ(count_video_frames(path("out.mp4")), frames_out);
  std::ifstream jsonl(path("dets.jsonl"));
  long expected_number = 0;
  double last_pts = -1.0;
  int pts_jumps = 0;
  for (std::string line; std::getline(jsonl, line);) {
    const auto frame = nlohmann::json::parse(line);
    EXPECT_EQ(frame["frame"].get<long>(), expected_number++);
    const double pts = frame["pts_ms"].get<double>();
    EXPECT_GT(pts, last_pts) << line;
    if (last_pts >= 0 && pts - last_pts > 900.0) ++pts_jumps;
    last_pts = pts;
  }
  EXPECT_EQ(pts_jumps, kOutages);
  // No black (or blank) frames were written to stand in for the outages.
  cv::VideoCapture written(path("out.mp4"));
  ASSERT_TRUE(written.isOpened());
  cv::Mat image;
  long frames = 0, dark = 0;
  while (written.read(image)) {
    ++frames;
    if (cv::mean(image)[0] + cv::mean(image)[1] + cv::mean(image)[2] < 30.0) ++dark;
  }
  EXPECT_EQ(frames, frames_out);
  EXPECT_EQ(dark, 0);
}

TEST_F(RtspLiveTest, MaxReconnectsUsedUpEndsCleanlyWithExitCode3) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  start_server(video);
  auto argv = run_argv(model);
  append(argv, {"--source", url_, "--json", path("dets.jsonl"), "--report", path("report.json"), "--output",
                path("out.mp4"), "--max-reconnects", "3", "--reconnect-backoff-initial", "0.2",
                "--reconnect-backoff-max", "0.4", "--open-timeout", "3"});
  BackgroundProcess run(argv, path("run.log"));
  ASSERT_TRUE(wait_until([&] { return jsonl_lines() >= 10; }, 60s)) << read_text(path("run.log"));
  kill_server();  // for good
  const auto lost_at = std::chrono::steady_clock::now();
  // Waited on a thread, so a run that never ends fails the test instead of hanging it.
  auto exit_code = std::async(std::launch::async, [&] { return run.wait(); });
  if (exit_code.wait_for(60s) != std::future_status::ready) {
    run.signal(SIGKILL);
    FAIL() << "the run did not end after the source was lost\n" << read_text(path("run.log"));
  }
  const double seconds_to_end = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost_at).count();
  EXPECT_EQ(exit_code.get(), 3) << read_text(path("run.log"));
  const std::string log = read_text(path("run.log"));
  EXPECT_NE(log.find("gave up on RTSP stream " + url_ + " after 3 reconnect attempt(s)"), std::string::npos) << log;
  EXPECT_NE(log.find("exit code 3"), std::string::npos) << log;
  // Backoff 0.2, 0.4, 0.4 s (capped) between refused connections: the run ends within seconds.
  EXPECT_LT(seconds_to_end, 15.0);
  std::cout << "[ measured ] source lost -> run ended in " << seconds_to_end << " s\n";

  const nlohmann::json report = read_json(path("report.json"));
  EXPECT_TRUE(report["source_lost"].get<bool>());
  EXPECT_TRUE(report["connection"]["gave_up"].get<bool>());
  EXPECT_EQ(report["connection"]["failed_attempts"].get<int>(), 3);
  EXPECT_EQ(report["connection"]["reconnects"].get<int>(), 0);
  EXPECT_TRUE(report["error"].is_null());
  const long frames_out = report["frames_out"].get<long>();
  EXPECT_GE(frames_out, 10);
  EXPECT_EQ(count_lines(path("dets.jsonl")), frames_out);
  EXPECT_EQ(count_video_frames(path("out.mp4")), frames_out);
  EXPECT_FALSE(fs::exists(path("out.mp4.partial")));
}

TEST_F(RtspLiveTest, UnreachableStreamIsAClearErrorAtStart) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  auto argv = run_argv(model);  // nothing listens on port_: the first open is not retried
  append(argv, {"--source", url_, "--output", path("out.mp4"), "--open-timeout", "5"});
  const CommandResult run = run_shell(command_line(argv));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find(url_), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(path("out.mp4")));
}

TEST_F(RtspLiveTest, FileSourceEndsAtEndOfFileAndNeverReconnects) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  DETSTREAM_REQUIRE_SHARED(video, "videos/vtest_pets_480x360.mp4");
  ASSERT_TRUE(cut_clip(video, 15, path("clip.mp4")));
  auto argv = run_argv(model);
  append(argv, {"--source", path("clip.mp4"), "--report", path("report.json"), "--max-reconnects", "5"});
  const CommandResult run = run_shell(command_line(argv));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json report = read_json(path("report.json"));
  EXPECT_EQ(report["frames_out"].get<long>(), 15);
  EXPECT_TRUE(report["connection"].is_null());
  EXPECT_FALSE(report["source_lost"].get<bool>());
  EXPECT_EQ(report["stages"]["inference"]["queue_policy"], "block");
  EXPECT_EQ(run.output.find("reconnect"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace detstream::testing
