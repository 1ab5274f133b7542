#include "pipeline/sinks/jsonl_sink.h"

#include <cinttypes>
#include <filesystem>
#include <stdexcept>

#include "pipeline/sinks/video_file_sink.h"

namespace detstream::pipeline {

namespace {
void append_escaped(std::string& out, const std::string& text) {
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
}
}  // namespace

JsonlSink::JsonlSink(std::string path, postprocess::ClassNames names) : path_(std::move(path)), names_(std::move(names)) {
  check_writable(path_);
  partial_ = path_ + ".partial";
  file_ = std::fopen(partial_.c_str(), "w");
  if (!file_) throw std::runtime_error("cannot create '" + partial_ + "'");
  line_.reserve(4096);
}

JsonlSink::~JsonlSink() {
  if (file_) {
    std::fclose(file_);
    std::error_code ec;
    std::filesystem::remove(partial_, ec);
  }
}

bool JsonlSink::write(const Frame& frame, std::span<const postprocess::Detection> detections) {
  char number[96];
  line_.clear();
  std::snprintf(number, sizeof number, "{\"frame\":%" PRId64 ",\"pts_ms\":", frame.number);
  line_ += number;
  if (frame.pts_ns >= 0) {
    std::snprintf(number, sizeof number, "%.3f", static_cast<double>(frame.pts_ns) / 1e6);
    line_ += number;
  } else {
    line_ += "null";
  }
  line_ += ",\"detections\":[";
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& d = detections[i];
    std::snprintf(number, sizeof number, "%s{\"class_id\":%d,\"class_name\":\"", i ? "," : "", d.class_id);
    line_ += number;
    const bool named = d.class_id >= 0 && static_cast<std::size_t>(d.class_id) < names_.size();
    append_escaped(line_, named ? names_[static_cast<std::size_t>(d.class_id)] : postprocess::fallback_class_name(d.class_id));
    std::snprintf(number, sizeof number, "\",\"confidence\":%.5f,\"box_xyxy\":[%.2f,%.2f,%.2f,%.2f]}", d.confidence,
                  d.box.x1, d.box.y1, d.box.x2, d.box.y2);
    line_ += number;
  }
  line_ += "]}\n";
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size() || std::fflush(file_) != 0) {
    error_ = "writing '" + partial_ + "' failed (disk full?)";
    return false;
  }
  return true;
}

bool JsonlSink::finish() {
  if (!file_) return true;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (!closed) {
    error_ = "closing '" + partial_ + "' failed";
    std::filesystem::remove(partial_, ec);
    return false;
  }
  std::filesystem::rename(partial_, path_, ec);
  if (ec) {
    error_ = "cannot move '" + partial_ + "' to '" + path_ + "': " + ec.message();
    return false;
  }
  return true;
}

}  // namespace detstream::pipeline
