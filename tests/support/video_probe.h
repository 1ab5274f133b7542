// Counting the frames of a video file with ffprobe (a peer tool, not our decoder), for tests that
// check that what the pipeline wrote is complete and playable.
#pragma once

#include <cstdio>
#include <string>

namespace detstream::testing {

// Decoded frame count, or -1 when ffprobe cannot read the file (not playable).
inline long count_video_frames(const std::string& path) {
  const std::string command = "ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames "
                              "-of csv=p=0 '" + path + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  char buffer[64] = {0};
  const bool got = std::fgets(buffer, sizeof buffer, pipe) != nullptr;
  const int status = pclose(pipe);
  if (!got || status != 0) return -1;
  try {
    return std::stol(buffer);
  } catch (...) {
    return -1;
  }
}

}  // namespace detstream::testing
