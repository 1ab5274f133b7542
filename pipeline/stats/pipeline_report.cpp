#include "pipeline/stats/pipeline_report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace detstream::pipeline {

namespace {
nlohmann::json connection_json(const std::optional<ConnectionStats>& connection) {
  if (!connection) return nullptr;
  nlohmann::json outages = nlohmann::json::array();
  for (const Outage& o : connection->outages) {
    outages.push_back({{"after_frame", o.after_frame}, {"seconds", o.seconds}, {"frames_missing", o.frames_missing},
                       {"attempts", o.attempts}, {"reason", o.reason}, {"recovered", o.recovered}});
  }
  return {{"reconnects", connection->reconnects}, {"failed_attempts", connection->failed_attempts},
          {"outage_s", connection->outage_s}, {"frames_missing", connection->frames_missing},
          {"gave_up", connection->gave_up}, {"outages", outages}};
}
}  // namespace

nlohmann::json to_json(const PipelineReport& r) {
  nlohmann::json stages = nlohmann::json::object();
  for (const StageReport& s : r.stages) {
    stages[s.name] = {{"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms}, {"mean_ms", s.mean_ms}, {"items", s.items},
                      {"queue_max", s.queue_max}, {"queue_capacity", s.queue_capacity}, {"dropped", s.dropped},
                      {"queue_policy", s.queue_policy.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.queue_policy)}};
  }
  return {{"source", r.source},
          {"model", r.model},
          {"backend", r.backend},
          {"prepost", {{"preprocess", r.preprocess_path}, {"postprocess", r.postprocess_path},
                       {"host_path_reason", r.host_path_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.host_path_reason)}}},
          {"frames_in", r.frames_in},
          {"frames_out", r.frames_out},
          {"dropped", r.dropped},
          {"wall_s", r.wall_s},
          {"fps", r.fps},
          {"latency_ms", {{"p50", r.latency_p50_ms}, {"p99", r.latency_p99_ms}}},
          {"stages", stages},
          {"stopped_early", r.stopped_early},
          {"connection", connection_json(r.connection)},
          {"source_lost", r.source_lost},
          {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
          {"outputs", r.outputs}};
}

std::string format_report_table(const PipelineReport& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %9s %9s %9s %8s %10s %8s\n", "stage", "p50 ms", "p99 ms", "mean ms", "items",
                "queue max", "dropped");
  out += line;
  for (const StageReport& s : r.stages) {
    std::snprintf(line, sizeof line, "%-12s %9.2f %9.2f %9.2f %8llu %6zu/%-3zu %8llu\n", s.name.c_str(), s.p50_ms, s.p99_ms,
                  s.mean_ms, static_cast<unsigned long long>(s.items), s.queue_max, s.queue_capacity,
                  static_cast<unsigned long long>(s.dropped));
    out += line;
  }
  std::snprintf(line, sizeof line,
                "frames in %llu, out %llu, dropped %llu | %.2f s, %.2f fps | end-to-end latency p50 %.1f ms, p99 %.1f ms%s\n",
                static_cast<unsigned long long>(r.frames_in), static_cast<unsigned long long>(r.frames_out),
                static_cast<unsigned long long>(r.dropped), r.wall_s, r.fps, r.latency_p50_ms, r.latency_p99_ms,
                r.stopped_early ? " (stopped early)" : "");
  out += line;
  if (!r.preprocess_path.empty()) {
    out += "preprocess: " + r.preprocess_path + " | postprocess: " + r.postprocess_path + "\n";
  }
  if (r.connection && !r.connection->outages.empty()) {
    std::snprintf(line, sizeof line, "source outages: %zu, reconnects %d (failed attempts %d), %.1f s without frames, ~%lld frames missed%s\n",
                  r.connection->outages.size(), r.connection->reconnects, r.connection->failed_attempts, r.connection->outage_s,
                  static_cast<long long>(r.connection->frames_missing), r.connection->gave_up ? "; gave up: source lost" : "");
    out += line;
  }
  return out;
}

void write_report_file(const PipelineReport& report, const std::string& path) {
  const std::string partial = path + ".partial";
  {
    std::ofstream file(partial);
    if (!file) throw std::runtime_error("cannot write report '" + path + "'");
    file << to_json(report).dump(2) << '\n';
    if (!file) throw std::runtime_error("writing report '" + path + "' failed");
  }
  std::filesystem::rename(partial, path);
}

}  // namespace detstream::pipeline
