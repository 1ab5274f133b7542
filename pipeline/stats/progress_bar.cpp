#include "pipeline/stats/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace detstream::pipeline {

ProgressBar::ProgressBar(std::int64_t total, bool wanted)
    : total_(total), active_(wanted && total > 0 && isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(std::int64_t done) {
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250) && done < total_) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fps = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const int width = 30;
  const int filled = static_cast<int>(width * std::min<double>(1.0, static_cast<double>(done) / static_cast<double>(total_)));
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[width] = '\0';
  const long eta = fps > 0 ? static_cast<long>(static_cast<double>(total_ - done) / fps) : 0;
  std::fprintf(stderr, "\r[%s] %lld/%lld frames  %.1f fps  ETA %ld:%02ld ", bar, static_cast<long long>(done),
               static_cast<long long>(total_), fps, eta / 60, eta % 60);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (active_) std::fprintf(stderr, "\n");
  active_ = false;
}

}  // namespace detstream::pipeline
