#include "pipeline/sources/source_factory.h"

#include <filesystem>
#include <stdexcept>

#include "pipeline/sources/gst_source.h"
#include "pipeline/sources/image_source.h"

namespace detstream::pipeline {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

constexpr const char* kToBgr = " ! videoconvert ! video/x-raw,format=BGR";
constexpr const char* kFileSink = " ! appsink name=sink sync=false max-buffers=4 drop=false";
constexpr const char* kLiveSink = " ! appsink name=sink sync=false max-buffers=1 drop=true";

}  // namespace

SourceSpec describe_source(const std::string& source, const SourceOptions& options) {
  namespace fs = std::filesystem;
  if (source.empty()) throw std::runtime_error("no source given (--source)");
  if (starts_with(source, "gst:")) {
    return {SourceKind::kGstPipeline, source.substr(4), false, "GStreamer pipeline"};
  }
  if (starts_with(source, "rtsp://") || starts_with(source, "rtsps://")) {
    return {SourceKind::kRtsp,
            "rtspsrc location=" + quoted(source) + " latency=" + std::to_string(options.rtsp_latency_ms) + " drop-on-latency=true" +
                " ! decodebin" + kToBgr + kLiveSink,
            true, "RTSP stream " + source};
  }
  if (starts_with(source, "http://") || starts_with(source, "https://")) {
    return {SourceKind::kHttp, "souphttpsrc location=" + quoted(source) + " ! decodebin" + kToBgr + kFileSink, false,
            "HTTP stream " + source};
  }
  if (starts_with(source, "csi://")) {
    const std::string id = source.substr(6);
    return {SourceKind::kCsiCamera,
            "nvarguscamerasrc sensor-id=" + (id.empty() ? std::string("0") : id) + " ! video/x-raw(memory:NVMM),width=" +
                std::to_string(options.camera_width) + ",height=" + std::to_string(options.camera_height) +
                ",framerate=" + std::to_string(options.camera_fps) + "/1 ! nvvidconv ! video/x-raw,format=BGRx" + kToBgr +
                kLiveSink,
            true, "Jetson CSI camera " + source};
  }
  if (starts_with(source, "/dev/video")) {
    if (!fs::exists(source)) throw std::runtime_error("camera '" + source + "' does not exist (no such device)");
    return {SourceKind::kUsbCamera, "v4l2src device=" + quoted(source) + kToBgr + kLiveSink, true, "camera " + source};
  }
  if (!fs::exists(source)) throw std::runtime_error("source '" + source + "' does not exist");
  if (fs::is_directory(source) || is_image_path(source)) return {SourceKind::kImages, "", false, "images " + source};
  return {SourceKind::kVideoFile, "filesrc location=" + quoted(source) + " ! decodebin" + kToBgr + kFileSink, false,
          "video file '" + source + "'"};
}

std::unique_ptr<FrameSource> open_source(const std::string& source, const SourceOptions& options,
                                         ReconnectingSource::Logger log) {
  const SourceSpec spec = describe_source(source, options);
  if (spec.kind == SourceKind::kImages) return std::make_unique<ImageSource>(source);
  SourceInfo hints;
  hints.description = spec.description;
  hints.live = spec.live;
  if (!spec.live) return std::make_unique<GstSource>(spec.pipeline, hints, GstSourceTimeouts{options.open_timeout_s, 0.0, nullptr});
  const auto open = [source, spec, hints, options](const std::atomic<bool>& cancel) -> std::unique_ptr<FrameSource> {
    // A camera unplugged mid-run: say so rather than pass on v4l2src's "cannot open device".
    if (spec.kind == SourceKind::kUsbCamera && !std::filesystem::exists(source)) {
      throw std::runtime_error(hints.description + " does not exist (unplugged?)");
    }
    return std::make_unique<GstSource>(spec.pipeline, hints,
                                       GstSourceTimeouts{options.open_timeout_s, options.stall_timeout_s, &cancel});
  };
  return std::make_unique<ReconnectingSource>(open, options.reconnect, std::move(log));
}

}  // namespace detstream::pipeline
