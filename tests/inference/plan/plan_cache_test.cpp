// The plan cache: build once, reuse while the model bytes, build options and compatibility key
// are unchanged, rebuild (with a note) on any change or on a corrupt cache file.
#include "inference/plan/plan_cache.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "inference/core/error.h"
#include "inference/plan/plan_format.h"
#include "inference/plan/plan_test_util.h"
#include "support/shared_data.h"

namespace detstream::inference {
namespace {

namespace fs = std::filesystem;
using namespace plan_test;
using testing::TempDir;
using testing::TinyModelSpec;

class PlanCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "tiny.onnx";
    testing::write_tiny_onnx(model_);
    options_.backend = "ref";
    cache_.log = [this](const std::string& note) { notes_.push_back(note); };
  }
  CachedPlan load() { return load_or_build_plan(model_, options_, cache_); }
  std::string all_notes() const {
    std::string text;
    for (const auto& n : notes_) text += n + "\n";
    return text;
  }

  TempDir dir_{"plan-cache"};
  std::string model_;
  BuildOptions options_;
  PlanCacheOptions cache_;
  std::vector<std::string> notes_;
};

TEST_F(PlanCacheTest, FirstCallBuildsAndTheSecondReuses) {
  const CachedPlan first = load();
  EXPECT_TRUE(first.rebuilt);
  EXPECT_EQ(first.path, dir_ / "tiny.ref-fp32-b1-32x32.plan");
  EXPECT_TRUE(fs::exists(first.path));
  EXPECT_NE(all_notes().find("building plan for tiny.onnx"), std::string::npos) << all_notes();
  EXPECT_EQ(first.plan.model_hash, hash_file(model_));

  notes_.clear();
  const CachedPlan second = load();
  EXPECT_FALSE(second.rebuilt);
  EXPECT_EQ(second.path, first.path);
  EXPECT_TRUE(notes_.empty()) << all_notes();
  EXPECT_EQ(second.plan.model_hash, first.plan.model_hash);
  const auto a = run_plan(first.plan), b = run_plan(second.plan);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a[0].raw(), b[0].raw(), a[0].byte_size()), 0);
}

TEST_F(PlanCacheTest, ChangedModelBytesForceARebuild) {
  ASSERT_TRUE(load().rebuilt);
  TinyModelSpec edited;
  edited.author = "someone else";  // metadata only: same graph, other bytes
  testing::write_tiny_onnx(model_, edited);
  notes_.clear();
  const CachedPlan again = load();
  EXPECT_TRUE(again.rebuilt);
  EXPECT_NE(all_notes().find("model changed"), std::string::npos) << all_notes();
  EXPECT_EQ(again.plan.graph.metadata.at("author"), "someone else");
  EXPECT_FALSE(load().rebuilt);  // and the rewritten cache file is reused afterwards
}

TEST_F(PlanCacheTest, OtherBuildOptionsGetTheirOwnFile) {
  testing::write_tiny_onnx(model_, TinyModelSpec::dynamic_shapes());
  const CachedPlan base = load();
  options_.image_size = std::make_pair<std::int64_t, std::int64_t>(64, 48);
  options_.batch = {2, 2, 2};
  const CachedPlan other = load();
  EXPECT_TRUE(other.rebuilt);
  EXPECT_EQ(fs::path(other.path).filename(), "tiny.ref-fp32-b2-64x48.plan");
  EXPECT_EQ(other.plan.graph.value(other.plan.graph.inputs[0]).shape, (Shape{2, 3, 64, 48}));
  EXPECT_FALSE(load().rebuilt);
  options_ = BuildOptions{};
  options_.backend = "ref";
  EXPECT_FALSE(load().rebuilt);  // the first file is untouched
  EXPECT_EQ(load().path, base.path);
}

TEST_F(PlanCacheTest, CacheFileWithOtherOptionsUnderTheSameNameIsRebuilt) {
  const CachedPlan first = load();
  // Someone wrote a plan with other options (image size via explicit shapes) under this name.
  save_plan(first.plan, first.path, {{"options", "backend=ref;precision=fp32;batch=1/1/1;imgsz=999x999"}});
  const CachedPlan again = load();
  EXPECT_TRUE(again.rebuilt);
  EXPECT_NE(all_notes().find("other options"), std::string::npos) << all_notes();
}

TEST_F(PlanCacheTest, CorruptCacheFileIsRebuiltWithANote) {
  const CachedPlan first = load();
  std::string bytes = read_bytes(first.path);
  bytes[bytes.size() / 2] ^= 0x10;
  write_bytes(first.path, bytes);
  notes_.clear();
  const CachedPlan again = load();
  EXPECT_TRUE(again.rebuilt);
  EXPECT_NE(all_notes().find("checksum mismatch"), std::string::npos) << all_notes();
  EXPECT_NO_THROW(load_plan(again.path));
  EXPECT_FALSE(load().rebuilt);
}

TEST_F(PlanCacheTest, GarbageOrTruncatedCacheFilesAreRebuilt) {
  const CachedPlan first = load();
  const std::string good = read_bytes(first.path);
  for (const std::string& bad : {std::string("garbage, not a plan"), good.substr(0, good.size() / 3), std::string()}) {
    write_bytes(first.path, bad);
    notes_.clear();
    EXPECT_TRUE(load().rebuilt);
    EXPECT_NE(all_notes().find("rebuilt"), std::string::npos) << all_notes();
  }
}

TEST_F(PlanCacheTest, PlanForAnotherMachineIsRebuilt) {
  const CachedPlan first = load();
  Plan foreign = first.plan;
  foreign.compatibility_key = "ref/other-machine/fp32";
  save_plan(foreign, first.path, {{"options", build_options_text(options_)}});
  const CachedPlan again = load();
  EXPECT_TRUE(again.rebuilt);
  EXPECT_NE(all_notes().find("other-machine"), std::string::npos) << all_notes();
  EXPECT_EQ(again.plan.compatibility_key, first.plan.compatibility_key);
}

TEST_F(PlanCacheTest, CacheDirOptionAndDisabledCache) {
  cache_.cache_dir = dir_ / "plans/nested";
  const CachedPlan cached = load();
  EXPECT_EQ(fs::path(cached.path).parent_path(), fs::path(cache_.cache_dir));
  EXPECT_TRUE(fs::exists(cached.path));
  EXPECT_FALSE(load().rebuilt);

  cache_.enabled = false;
  fs::remove(cached.path);
  const CachedPlan uncached = load();
  EXPECT_TRUE(uncached.rebuilt);
  EXPECT_FALSE(fs::exists(uncached.path));
  EXPECT_TRUE(load().rebuilt);
}

TEST_F(PlanCacheTest, ReadOnlyModelDirectoryFallsBackToAPerUserTempDir) {
  const fs::path readonly = dir_.path() / "readonly";
  fs::create_directories(readonly);
  const std::string model = (readonly / ("tiny_readonly_" + std::to_string(::getpid()) + ".onnx")).string();
  testing::write_tiny_onnx(model);
  ASSERT_EQ(::chmod(readonly.c_str(), 0555), 0);
  const CachedPlan first = load_or_build_plan(model, options_, cache_);
  const CachedPlan second = load_or_build_plan(model, options_, cache_);
  ::chmod(readonly.c_str(), 0755);
  EXPECT_NE(fs::path(first.path).parent_path(), readonly);
  EXPECT_NE(first.path.find("detstream-plans-uid" + std::to_string(::getuid())), std::string::npos) << first.path;
  EXPECT_FALSE(fs::exists(readonly / fs::path(first.path).filename()));
  EXPECT_FALSE(second.rebuilt);
  fs::remove(first.path);
}

TEST_F(PlanCacheTest, ModelErrorsAreNotCacheErrors) {
  testing::write_tiny_onnx(model_, TinyModelSpec::with_op("NonMaxSuppression"));
  try {
    load();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported operator 'NonMaxSuppression'"), std::string::npos) << e.what();
  }
  options_.backend = "no-such-backend";
  EXPECT_THROW(load(), Error);
}

}  // namespace
}  // namespace detstream::inference
