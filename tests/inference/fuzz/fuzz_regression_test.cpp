// Replays what the fuzz targets saw crash once (tests/fuzz/regressions/{onnx,plan}/, one file per
// finding, named after what it broke) plus a few hostile inputs made here: each must end in
// success or inference::Error, which the entries swallow; any other exception fails the test, and
// a crash or sanitizer report fails the run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.h"
#include "support/shared_data.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> regression_inputs(const std::string& kind) {
  std::vector<std::string> inputs;
  const fs::path dir = fs::path(DETSTREAM_SOURCE_DIR) / "tests/fuzz/regressions" / kind;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename() == ".gitkeep") continue;
    std::ifstream file(entry.path(), std::ios::binary);
    inputs.emplace_back(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  return inputs;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void feed_onnx(const std::string& bytes) {
  detstream::fuzz::import_and_build_onnx(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

void feed_plan(const std::string& bytes) {
  detstream::fuzz::load_plan_with_fixed_framing(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

TEST(FuzzRegressions, OnnxFindingsAndTruncationsEndInSuccessOrError) {
  for (const std::string& input : regression_inputs("onnx")) EXPECT_NO_THROW(feed_onnx(input));
  EXPECT_NO_THROW(feed_onnx(""));
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n_4cls_320.onnx");
  const std::string bytes = read_file(model);
  for (std::size_t cut : {std::size_t{1}, std::size_t{17}, std::size_t{400}, bytes.size() / 2, bytes.size() - 3}) {
    EXPECT_NO_THROW(feed_onnx(bytes.substr(0, cut))) << "cut at " << cut;
  }
}

TEST(FuzzRegressions, PlanFindingsEndInSuccessOrError) {
  for (const std::string& input : regression_inputs("plan")) EXPECT_NO_THROW(feed_plan(input));
  EXPECT_NO_THROW(feed_plan(""));
  EXPECT_NO_THROW(feed_plan(std::string(64, '\xff')));
}

}  // namespace
