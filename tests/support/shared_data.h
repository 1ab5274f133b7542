// Locating ../shared (models, images, golden outputs) from tests. When it is absent the test is
// skipped with a loud message, except under CI=true where absence is a failure.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace detstream::testing {

inline std::filesystem::path shared_dir() { return DETSTREAM_SHARED_DIR; }

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

}  // namespace detstream::testing

// Sets `var` to the absolute path of `relative` under ../shared, or skips/fails the test.
#define DETSTREAM_REQUIRE_SHARED(var, relative)                                                          \
  const std::string var = (::detstream::testing::shared_dir() / (relative)).string();                   \
  if (!std::filesystem::exists(var)) {                                                                   \
    if (::detstream::testing::running_in_ci()) {                                                         \
      FAIL() << "shared data missing under CI: " << var;                                                 \
    }                                                                                                    \
    GTEST_SKIP() << "\n\n*** SKIPPED: shared data not found: " << var << " (expected ../shared beside the " \
                    "source tree) ***\n";                                                                \
  }
