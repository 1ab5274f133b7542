// Shared by the `detstream run` tests that start the binary (live sources, signals, hostile
// inputs): a private temporary folder, the plan cache, the fastest backend this build has, and
// small readers for what a run leaves behind (JSON Lines, the report, a short clip).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "inference/backend.h"
#include "support/shared_data.h"
#include "support/subprocess.h"

namespace detstream::testing {

inline std::string fastest_backend_name() {
  try {
    (void)inference::backend_named("cpu");
    return "cpu";
  } catch (const std::exception&) {
    return "ref";
  }
}

class RunFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(detstream_binary())) {
      if (running_in_ci()) FAIL() << detstream_binary() << " is not built";
      GTEST_SKIP() << "\n\n*** SKIPPED: " << detstream_binary() << " is not built ***\n";
    }
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("detstream_" + std::string(test->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) std::filesystem::remove_all(dir_, ec);  // kept on failure, for a look
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string cache_dir() {
    const auto cache = std::filesystem::path(DETSTREAM_BINARY_DIR) / "test-plans";
    std::filesystem::create_directories(cache);
    return cache.string();
  }
  // "detstream run --model M --backend B --cache-dir C --no-progress" as argv.
  static std::vector<std::string> run_argv(const std::string& model) {
    return {detstream_binary(),     "run",         "--model",   model,          "--backend",
            fastest_backend_name(), "--cache-dir", cache_dir(), "--no-progress"};
  }
  static void append(std::vector<std::string>& argv, std::initializer_list<std::string> more) {
    argv.insert(argv.end(), more.begin(), more.end());
  }
  static std::string command_line(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + shell_quote(a);
    return line;
  }
  static long count_lines(const std::string& file) {
    std::ifstream in(file);
    long lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    return lines;
  }
  static nlohmann::json read_json(const std::string& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
  }
  static std::string read_text(const std::string& file) {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // The first `frames` frames of `video`, stream-copied by ffmpeg (a peer tool) into `out`.
  static bool cut_clip(const std::string& video, int frames, const std::string& out) {
    return run_shell("ffmpeg -v error -y -i " + shell_quote(video) + " -frames:v " + std::to_string(frames) +
                     " -c copy -an " + shell_quote(out))
               .exit_code == 0;
  }

  std::filesystem::path dir_;
};

}  // namespace detstream::testing
