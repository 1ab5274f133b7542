// detstream re-executes itself with GOMP_SPINCOUNT set unless the user chose an OpenMP wait
// policy (app/openmp_environment.h says why). Read back from /proc/<pid>/environ of a running
// `detstream bench`.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "support/shared_data.h"
#include "support/subprocess.h"
#include "support/tiny_onnx_model.h"

namespace {

using detstream::testing::BackgroundProcess;

// The environment of a `detstream bench` started through `env` with `env_prefix` (NAME=value
// items), read while it runs.
std::string environment_of_bench(const std::vector<std::string>& env_prefix, const std::string& model) {
  detstream::testing::TempDir dir("openmp-env");
  std::vector<std::string> argv{"/usr/bin/env"};
  argv.insert(argv.end(), env_prefix.begin(), env_prefix.end());
  argv.push_back(detstream::testing::detstream_binary());
  argv.insert(argv.end(), {"bench", "--backend", "ref", "--iterations", "100000", "--model"});
  argv.push_back(model);
  argv.insert(argv.end(), {"--cache-dir", dir.path().string()});
  BackgroundProcess process(argv, (dir / "log.txt"));
  auto read_environ = [&process] {
    std::ifstream file("/proc/" + std::to_string(process.pid()) + "/environ", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  // Wait until the process runs detstream (env has exec'd it), then long enough for the
  // re-exec, which happens first thing in main, to have taken place.
  const std::string binary = detstream::testing::detstream_binary();
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::error_code ec;
    if (std::filesystem::read_symlink("/proc/" + std::to_string(process.pid()) + "/exe", ec) == binary) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::string environ = read_environ();
  return environ;
}

TEST(OpenMpEnvironment, SpinCountIsSetUnlessTheUserChoseAPolicy) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_320.onnx");
  const std::string tuned = environment_of_bench({"DETSTREAM_TEST_MARK=1"}, model);
  EXPECT_NE(tuned.find(std::string("GOMP_SPINCOUNT=1000") + '\0'), std::string::npos);
  const std::string chosen = environment_of_bench({"DETSTREAM_TEST_MARK=1", "OMP_WAIT_POLICY=PASSIVE"}, model);
  EXPECT_NE(chosen.find("DETSTREAM_TEST_MARK"), std::string::npos);
  EXPECT_EQ(chosen.find("GOMP_SPINCOUNT"), std::string::npos);
}

}  // namespace
