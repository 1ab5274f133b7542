#include "pipeline/config/run_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace detstream::pipeline {

namespace {

void check_keys(const YAML::Node& node, const std::set<std::string>& known, const std::string& where) {
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw std::runtime_error(where + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
}

template <typename T>
void read(const YAML::Node& node, const char* key, T& out, const std::string& where) {
  if (!node[key]) return;
  try {
    out = node[key].as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(where + ": '" + key + "' has an invalid value '" + YAML::Dump(node[key]) + "'");
  }
}

void apply_queues(const YAML::Node& node, const std::string& where, PipelineOptions& p) {
  check_keys(node, {"capacity", "policy"}, where + ": queues");
  int capacity = static_cast<int>(p.queues.capacity);
  read(node, "capacity", capacity, where + ": queues");
  if (capacity < 1) throw std::runtime_error(where + ": queues.capacity must be at least 1");
  p.queues.capacity = static_cast<std::size_t>(capacity);
  if (node["policy"]) p.queues.policy = parse_queue_policy(node["policy"].as<std::string>());
}

void apply_sections(const YAML::Node& root, const std::string& where, RunConfig& c) {
  PipelineOptions& p = c.pipeline;
  if (root["queues"]) apply_queues(root["queues"], where, p);
  if (const YAML::Node rtsp = root["rtsp"]) {
    check_keys(rtsp, {"latency_ms"}, where + ": rtsp");
    read(rtsp, "latency_ms", p.source_options.rtsp_latency_ms, where + ": rtsp");
  }
  if (const YAML::Node reconnect = root["reconnect"]) {
    check_keys(reconnect, {"max_attempts", "backoff_initial_s", "backoff_max_s"}, where + ": reconnect");
    ReconnectPolicy& policy = p.source_options.reconnect;
    read(reconnect, "max_attempts", policy.max_attempts, where + ": reconnect");
    read(reconnect, "backoff_initial_s", policy.initial_backoff_s, where + ": reconnect");
    read(reconnect, "backoff_max_s", policy.max_backoff_s, where + ": reconnect");
    check_reconnect_policy(policy, where + ": reconnect");
  }
  if (const YAML::Node camera = root["camera"]) {
    check_keys(camera, {"width", "height", "fps"}, where + ": camera");
    read(camera, "width", p.source_options.camera_width, where + ": camera");
    read(camera, "height", p.source_options.camera_height, where + ": camera");
    read(camera, "fps", p.source_options.camera_fps, where + ": camera");
  }
}

}  // namespace

void check_reconnect_policy(const ReconnectPolicy& policy, const std::string& where) {
  if (policy.max_attempts < -1) throw std::runtime_error(where + ": max_attempts must be -1 (forever), 0 or more");
  if (!(policy.initial_backoff_s >= 0)) throw std::runtime_error(where + ": backoff_initial_s must be 0 or more");
  if (!(policy.max_backoff_s >= policy.initial_backoff_s)) {
    throw std::runtime_error(where + ": backoff_max_s must be at least backoff_initial_s");
  }
}

std::optional<OverflowPolicy> parse_queue_policy(const std::string& text) {
  if (text == "block") return OverflowPolicy::kBlock;
  if (text == "drop-oldest") return OverflowPolicy::kDropOldest;
  if (text == "auto") return std::nullopt;
  throw std::runtime_error("unknown queue policy '" + text + "' (expected block, drop-oldest or auto)");
}

void apply_run_config_yaml(const std::string& yaml_text, const std::string& label, RunConfig& c) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(label + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw std::runtime_error(label + ": expected a mapping of settings");
  check_keys(root, {"model", "backend", "precision", "imgsz", "threads", "source", "output", "json", "report", "conf",
                    "iou", "max_det", "classes", "display", "max_frames", "queues", "rtsp", "camera", "open_timeout_s",
                    "stall_timeout_s", "reconnect", "prepost"},
             label);
  PipelineOptions& p = c.pipeline;
  read(root, "model", c.model, label);
  read(root, "backend", c.backend, label);
  read(root, "precision", c.precision, label);
  read(root, "imgsz", c.imgsz, label);
  read(root, "threads", c.threads, label);
  read(root, "report", c.report, label);
  read(root, "source", p.source, label);
  read(root, "output", p.output_video, label);
  read(root, "json", p.output_jsonl, label);
  read(root, "conf", p.decode.conf_threshold, label);
  read(root, "iou", p.decode.iou_threshold, label);
  read(root, "max_det", p.decode.max_det, label);
  read(root, "classes", p.classes, label);
  read(root, "display", p.display, label);
  read(root, "max_frames", p.max_frames, label);
  read(root, "open_timeout_s", p.source_options.open_timeout_s, label);
  read(root, "stall_timeout_s", p.source_options.stall_timeout_s, label);
  if (root["prepost"]) {
    std::string prepost;
    read(root, "prepost", prepost, label);
    try {
      p.prepost = parse_prepost_mode(prepost);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(label + ": prepost: " + e.what());
    }
  }
  apply_sections(root, label, c);
}

RunConfig load_run_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read config '" + path + "'");
  std::stringstream text;
  text << file.rdbuf();
  RunConfig config;
  apply_run_config_yaml(text.str(), path, config);
  return config;
}

}  // namespace detstream::pipeline
