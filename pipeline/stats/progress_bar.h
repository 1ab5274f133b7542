// ProgressBar: "[=====>    ] 120/450 frames  23.5 fps  ETA 0:14" on stderr, redrawn at most four
// times a second, only when stderr is a terminal and the total is known (CI logs stay clean).
// One thread calls update()/finish().
#pragma once

#include <chrono>
#include <cstdint>

namespace detstream::pipeline {

class ProgressBar {
 public:
  ProgressBar(std::int64_t total, bool wanted);
  void update(std::int64_t done);
  void finish();
  bool active() const { return active_; }

 private:
  std::int64_t total_;
  bool active_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace detstream::pipeline
