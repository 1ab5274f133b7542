// The timing cache file without a GPU: a round trip keeps every entry, another GPU's entries are
// never returned (but survive a re-save), malformed lines are skipped, a foreign file is refused.
#ifdef DETSTREAM_WITH_CUDA
#include "inference/cuda/timing_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace detstream::inference::cuda {
namespace {

const std::string kH200 = "NVIDIA H200 sm_90 cuda 13000 cudnn 91400";
const std::string kA100 = "NVIDIA A100 sm_80 cuda 13000 cudnn 91400";

std::string temporary_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("detstream_" + name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()))).string();
}

TEST(CudaTimingCache, RoundTripKeepsEveryEntry) {
  const std::string path = temporary_path("timing_round_trip");
  TimingCache written(kH200);
  const CachedTactic igemm{1, 5, 3, 0, 0, 0};
  const CachedTactic cudnn{0, -1, 1, 6, 1, 123456789012ULL};
  written.insert("conv n1 c128 h20 w20 k128 r3 s3", igemm);
  written.insert("conv n32 c64 h80 w80 k2 r1 s1", cudnn);
  written.save(path);

  TimingCache read(kH200);
  std::string note;
  ASSERT_TRUE(read.load(path, &note)) << note;
  EXPECT_EQ(read.entries_for_this_device(), 2u);
  EXPECT_EQ(read.skipped_lines(), 0u);
  ASSERT_TRUE(read.find("conv n1 c128 h20 w20 k128 r3 s3").has_value());
  EXPECT_EQ(*read.find("conv n1 c128 h20 w20 k128 r3 s3"), igemm);
  EXPECT_EQ(*read.find("conv n32 c64 h80 w80 k2 r1 s1"), cudnn);
  EXPECT_FALSE(read.find("conv n1 c128 h40 w40 k128 r3 s3").has_value());
  std::filesystem::remove(path);
}

TEST(CudaTimingCache, AnotherGpusEntriesAreIgnoredButKept) {
  const std::string path = temporary_path("timing_foreign");
  TimingCache a100(kA100);
  a100.insert("conv shared signature", CachedTactic{1, 0, 2, 0, 0, 0});
  a100.save(path);

  TimingCache h200(kH200);
  ASSERT_TRUE(h200.load(path));
  EXPECT_FALSE(h200.find("conv shared signature").has_value()) << "a tactic timed on an A100 must not be used on an H200";
  EXPECT_EQ(h200.entries_for_this_device(), 0u);
  h200.insert("conv shared signature", CachedTactic{1, 4, 1, 0, 0, 0});
  h200.save(path);

  TimingCache a100_again(kA100);
  ASSERT_TRUE(a100_again.load(path));
  ASSERT_TRUE(a100_again.find("conv shared signature").has_value());
  EXPECT_EQ(a100_again.find("conv shared signature")->splits, 2) << "the A100's own entry survived the H200's save";
  TimingCache h200_again(kH200);
  ASSERT_TRUE(h200_again.load(path));
  EXPECT_EQ(h200_again.find("conv shared signature")->tile, 4);
  std::filesystem::remove(path);
}

TEST(CudaTimingCache, MissingFileIsEmptyMalformedLinesSkippedForeignFileRefused) {
  TimingCache cache(kH200);
  EXPECT_TRUE(cache.load(temporary_path("timing_does_not_exist")));
  EXPECT_EQ(cache.entries_for_this_device(), 0u);

  const std::string path = temporary_path("timing_malformed");
  {
    std::ofstream out(path);
    out << "detstream-timing-cache 1\n"
        << kH200 << "\tgood\t1 2 3 0 0 0\n"
        << "no tabs at all\n"
        << kH200 << "\ttruncated\t1 2\n";
  }
  ASSERT_TRUE(cache.load(path));
  EXPECT_EQ(cache.entries_for_this_device(), 1u);
  EXPECT_EQ(cache.skipped_lines(), 2u);
  EXPECT_EQ(cache.find("good")->splits, 3);

  {
    std::ofstream out(path);
    out << "onnx or anything else\n" << kH200 << "\tx\t1 2 3 0 0 0\n";
  }
  TimingCache fresh(kH200);
  std::string note;
  EXPECT_FALSE(fresh.load(path, &note));
  EXPECT_NE(note.find("not a detstream timing cache"), std::string::npos) << note;
  EXPECT_EQ(fresh.entries_for_this_device(), 0u);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA
