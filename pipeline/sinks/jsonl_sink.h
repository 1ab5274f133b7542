// JsonlSink: one JSON object per written frame:
//   {"frame":N,"pts_ms":T,"detections":[{"class_id","class_name","confidence","box_xyxy"}]}
// Written to "<path>.partial" and renamed by finish(), like the video; an unfinished sink removes
// its partial file. Lines are flushed as they are written so a reader can follow the file.
#pragma once

#include <cstdio>
#include <span>
#include <string>

#include "pipeline/core/frame.h"
#include "postprocess/class_names.h"
#include "postprocess/detection.h"

namespace detstream::pipeline {

class JsonlSink {
 public:
  // Throws std::runtime_error naming the path when it cannot be created.
  JsonlSink(std::string path, postprocess::ClassNames names);
  ~JsonlSink();
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  bool write(const Frame& frame, std::span<const postprocess::Detection> detections);
  bool finish();
  const std::string& last_error() const { return error_; }

 private:
  std::string path_;
  std::string partial_;
  postprocess::ClassNames names_;
  std::FILE* file_ = nullptr;
  std::string line_;  // reused buffer
  std::string error_;
};

}  // namespace detstream::pipeline
