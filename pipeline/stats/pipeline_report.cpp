#include "pipeline/stats/pipeline_report.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace detstream::pipeline {

nlohmann::json to_json(const PipelineReport& r) {
  nlohmann::json stages = nlohmann::json::object();
  for (const StageReport& s : r.stages) {
    stages[s.name] = {{"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms}, {"mean_ms", s.mean_ms}, {"items", s.items},
                      {"queue_max", s.queue_max}, {"queue_capacity", s.queue_capacity}, {"dropped", s.dropped}};
  }
  return {{"source", r.source},
          {"model", r.model},
          {"backend", r.backend},
          {"frames_in", r.frames_in},
          {"frames_out", r.frames_out},
          {"dropped", r.dropped},
          {"wall_s", r.wall_s},
          {"fps", r.fps},
          {"latency_ms", {{"p50", r.latency_p50_ms}, {"p99", r.latency_p99_ms}}},
          {"stages", stages},
          {"stopped_early", r.stopped_early},
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
