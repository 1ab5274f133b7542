// detstream run: the real-time pipeline (capture -> letterbox -> engine -> decode/NMS -> overlay
// -> encode), driven by flags and/or a YAML config (flags win). With --backend cuda the letterbox
// and the decode + confidence filter run on the GPU (--prepost auto, the default). SIGINT/SIGTERM stop capture, drain
// the queues and finalise the outputs; a second signal forces exit.
//
// Exit codes: 0 the source ended or a signal stopped the run (outputs finalised); 1 an error
// (nothing half-written is left); 3 a live source stayed down past --max-reconnects (the run
// ended cleanly, outputs are finalised and hold what was received); 130 a second signal forced
// exit (outputs not finalised).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "app/command.h"
#include "app/model_loader.h"
#include "pipeline/config/run_config.h"
#include "pipeline/pipeline.h"
#include "pipeline/sinks/video_file_sink.h"
#include "pipeline/stats/pipeline_report.h"

namespace detstream::app {

namespace {

constexpr int kExitSourceLost = 3;

volatile std::sig_atomic_t g_signals = 0;

void on_signal(int) {
  g_signals = g_signals + 1;
  if (g_signals >= 2) {
    static const char message[] = "\ndetstream: second signal, exiting without finalising outputs\n";
    (void)!write(STDERR_FILENO, message, sizeof message - 1);
    _exit(130);
  }
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A file-size limit (ulimit -f, a full quota) must become a write error we report and clean up
  // after, not a SIGXFSZ that kills the process and leaves half-written files.
  std::signal(SIGXFSZ, SIG_IGN);
}

struct RunFlags {
  std::string config;
  pipeline::RunConfig values;
  std::string queue_policy = "auto";
  std::string prepost = "auto";
  std::string workspace;
  int queue_capacity = 4;
  bool no_progress = false;
  std::string cache_dir;
};

// Applies only the flags the user typed over the config file's values.
void merge(const CLI::App& cmd, const RunFlags& flags, pipeline::RunConfig& out) {
  const auto given = [&](const char* name) { return cmd.get_option(name)->count() > 0; };
  const pipeline::RunConfig& f = flags.values;
  if (given("--model")) out.model = f.model;
  if (given("--backend")) out.backend = f.backend;
  if (given("--precision")) out.precision = f.precision;
  if (given("--imgsz")) out.imgsz = f.imgsz;
  if (given("--threads")) out.threads = f.threads;
  if (given("--report")) out.report = f.report;
  if (given("--source")) out.pipeline.source = f.pipeline.source;
  if (given("--output")) out.pipeline.output_video = f.pipeline.output_video;
  if (given("--json")) out.pipeline.output_jsonl = f.pipeline.output_jsonl;
  if (given("--conf")) out.pipeline.decode.conf_threshold = f.pipeline.decode.conf_threshold;
  if (given("--iou")) out.pipeline.decode.iou_threshold = f.pipeline.decode.iou_threshold;
  if (given("--max-det")) out.pipeline.decode.max_det = f.pipeline.decode.max_det;
  if (given("--classes")) out.pipeline.classes = f.pipeline.classes;
  if (given("--display")) out.pipeline.display = f.pipeline.display;
  if (given("--max-frames")) out.pipeline.max_frames = f.pipeline.max_frames;
  pipeline::SourceOptions& source = out.pipeline.source_options;
  const pipeline::SourceOptions& typed = f.pipeline.source_options;
  if (given("--rtsp-latency-ms")) source.rtsp_latency_ms = typed.rtsp_latency_ms;
  if (given("--open-timeout")) source.open_timeout_s = typed.open_timeout_s;
  if (given("--stall-timeout")) source.stall_timeout_s = typed.stall_timeout_s;
  if (given("--max-reconnects")) source.reconnect.max_attempts = typed.reconnect.max_attempts;
  if (given("--reconnect-backoff-initial")) source.reconnect.initial_backoff_s = typed.reconnect.initial_backoff_s;
  if (given("--reconnect-backoff-max")) source.reconnect.max_backoff_s = typed.reconnect.max_backoff_s;
  pipeline::check_reconnect_policy(source.reconnect, "--max-reconnects/--reconnect-backoff-*");
  if (given("--queue-capacity")) out.pipeline.queues.capacity = static_cast<std::size_t>(flags.queue_capacity);
  if (given("--queue-policy")) out.pipeline.queues.policy = pipeline::parse_queue_policy(flags.queue_policy);
  if (given("--prepost")) out.pipeline.prepost = pipeline::parse_prepost_mode(flags.prepost);
  out.pipeline.progress = !flags.no_progress;
}

// Returns the exit code (see the top of this file); throws for errors.
int run_pipeline(const CLI::App& cmd, const RunFlags& flags) {
  pipeline::RunConfig config = flags.config.empty() ? pipeline::RunConfig{} : pipeline::load_run_config(flags.config);
  merge(cmd, flags, config);
  if (config.model.empty()) throw std::runtime_error("no model given (--model or 'model:' in the config)");
  if (config.pipeline.source.empty()) throw std::runtime_error("no source given (--source or 'source:' in the config)");
  ModelOptions model;
  model.model = config.model;
  model.backend = config.backend;
  model.precision = config.precision;
  model.imgsz = config.imgsz;
  model.threads = config.threads > 0 ? config.threads : pipeline_inference_threads();
  model.cache_dir = flags.cache_dir;
  model.workspace = flags.workspace;
  if (!config.report.empty()) pipeline::check_writable(config.report);
  // Installed before the model loads, so a signal at any moment stops the run cleanly (the watcher
  // below passes it on as soon as the pipeline exists) instead of killing the process.
  install_signal_handlers();
  pipeline::Pipeline pipe(load_engine(model), config.pipeline);
  std::fprintf(stderr, "detstream run: %s, %dx%d%s -> %s\n", pipe.source_info().description.c_str(), pipe.source_info().width,
               pipe.source_info().height, pipe.source_info().live ? " (live)" : "",
               config.pipeline.output_video.empty() ? "(no video output)" : config.pipeline.output_video.c_str());
  std::fprintf(stderr, "detstream run: %s\n", pipe.prepost_description().c_str());
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      if (g_signals > 0) {
        std::fprintf(stderr, "\ndetstream: stopping (draining queued frames; press Ctrl-C again to force)\n");
        pipe.request_stop();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  pipeline::PipelineReport report = pipe.run();
  done = true;
  watcher.join();
  report.model = config.model;
  std::fputs(pipeline::format_report_table(report).c_str(), stdout);
  if (!config.report.empty()) pipeline::write_report_file(report, config.report);
  if (!report.error.empty()) throw std::runtime_error(report.error + " (outputs were not finalised)");
  if (report.source_lost) {
    std::fprintf(stderr, "detstream run: the live source was lost and not recovered (%d reconnect attempts failed); "
                 "outputs finalised with the %llu frames received; exit code %d\n",
                 report.connection ? report.connection->failed_attempts : 0,
                 static_cast<unsigned long long>(report.frames_out), kExitSourceLost);
    return kExitSourceLost;
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  pipeline::RunConfig& v = flags->values;
  CLI::App* cmd = app.add_subcommand("run", "Run the real-time pipeline on a video file, image folder, camera or stream");
  cmd->add_option("--config", flags->config, "YAML file with the settings below (configs/*.yaml); flags override it");
  cmd->add_option("--model", v.model, "YOLO detection model: .onnx (a plan is built and cached beside it) or .plan");
  cmd->add_option("--source", v.pipeline.source,
                  "video file, image or image folder, /dev/videoN, rtsp://..., http(s)://..., csi://N, or gst:<pipeline ending in appsink>");
  cmd->add_option("--output", v.pipeline.output_video, "annotated H.264 .mp4 to write");
  cmd->add_option("--json", v.pipeline.output_jsonl, "JSON Lines file: one line of detections per frame");
  cmd->add_option("--report", v.report, "JSON report: frames, fps, latency percentiles, per-stage times and queues");
  cmd->add_option("--backend", v.backend, "inference backend: cpu (oneDNN), cuda, ref")->capture_default_str();
  cmd->add_option("--precision", v.precision, "fp32 | bf16 (cpu) | fp16 (cuda)")->capture_default_str();
  cmd->add_option("--imgsz", v.imgsz, "model input size for dynamic models (0: the model's own)");
  cmd->add_option("--threads", v.threads, "inference threads (0: one per core but one, which capture and encoding keep)");
  cmd->add_option("--cache-dir", flags->cache_dir, "where built plans are cached (default: beside the model)");
  add_workspace_option(*cmd, flags->workspace);
  cmd->add_option("--conf", v.pipeline.decode.conf_threshold, "confidence threshold")->capture_default_str();
  cmd->add_option("--iou", v.pipeline.decode.iou_threshold, "NMS IoU threshold")->capture_default_str();
  cmd->add_option("--max-det", v.pipeline.decode.max_det, "at most this many detections per frame")->capture_default_str();
  cmd->add_option("--classes", v.pipeline.classes, "keep only these class ids (e.g. --classes 0 2)");
  cmd->add_option("--prepost", flags->prepost,
                  "pre/post-processing path: auto = on the backend's device when it has a frame path (cuda: letterbox, "
                  "decode and confidence filter on the GPU, only candidates come back; NMS on the host), else on the "
                  "CPU (OpenCV letterbox, decode + NMS); host = always on the CPU. The report says which ran")
      ->check(CLI::IsMember({"auto", "host"}))
      ->capture_default_str();
  cmd->add_flag("--display", v.pipeline.display, "show the annotated frames in a window (Esc stops)");
  cmd->add_option("--max-frames", v.pipeline.max_frames, "stop after this many frames (0: all)");
  cmd->add_option("--queue-capacity", flags->queue_capacity, "frames each inter-stage queue holds")->capture_default_str();
  cmd->add_option("--queue-policy", flags->queue_policy,
                  "when a queue is full: block (lossless; default for files) | drop-oldest (default for live) | auto")
      ->capture_default_str();
  pipeline::SourceOptions& source = v.pipeline.source_options;
  cmd->add_option("--rtsp-latency-ms,--rtsp-latency", source.rtsp_latency_ms,
                  "rtspsrc jitter buffer in ms; later frames are dropped (low latency)")->capture_default_str();
  cmd->add_option("--open-timeout", source.open_timeout_s, "seconds the first frame may take (each reconnect too)")
      ->capture_default_str();
  cmd->add_option("--stall-timeout", source.stall_timeout_s,
                  "live sources: seconds without a frame after which the stream counts as lost")->capture_default_str();
  cmd->add_option("--max-reconnects", source.reconnect.max_attempts,
                  "live sources: reconnect attempts per outage before the run ends (exit code 3); -1: forever")
      ->capture_default_str();
  cmd->add_option("--reconnect-backoff-initial", source.reconnect.initial_backoff_s,
                  "seconds before the first reconnect attempt; doubles per attempt")->capture_default_str();
  cmd->add_option("--reconnect-backoff-max", source.reconnect.max_backoff_s, "cap on the wait between attempts, seconds")
      ->capture_default_str();
  cmd->add_flag("--no-progress", flags->no_progress, "no progress bar");
  cmd->footer("Exit codes: 0 done (end of source or stopped by SIGINT/SIGTERM; outputs finalised), 1 error "
              "(nothing half-written left), 3 live source lost after --max-reconnects (outputs finalised), "
              "130 forced by a second signal.");
  cmd->callback([cmd, flags] {
    const int code = run_pipeline(*cmd, *flags);
    if (code != 0) {
      std::fflush(stdout);
      std::exit(code);  // main() maps only errors to exit codes; the Pipeline is already destroyed here
    }
  });
}

}  // namespace detstream::app
