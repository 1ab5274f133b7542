#include "pipeline/pipeline.h"

#include <opencv2/highgui.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "inference/core/error.h"
#include "pipeline/preprocess/letterbox.h"
#include "pipeline/render/overlay.h"
#include "pipeline/sinks/jsonl_sink.h"
#include "pipeline/sinks/video_file_sink.h"
#include "pipeline/stages/stage_metrics.h"
#include "pipeline/stages/transform_stage.h"
#include "pipeline/stats/progress_bar.h"
#include "postprocess/class_names.h"
#include "postprocess/yolo_output.h"

namespace detstream::pipeline {

namespace {
enum StageIndex { kCapture, kPreprocess, kInference, kPostprocess, kRender, kSink, kStageCount };
constexpr const char* kStageNames[kStageCount] = {"capture", "preprocess", "inference", "postprocess", "render", "sink"};
constexpr int kQueueCount = kStageCount - 1;  // queue i feeds stage i + 1

double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
}  // namespace

struct Pipeline::Impl {
  std::shared_ptr<const inference::Engine> engine;
  PipelineOptions options;
  std::unique_ptr<FrameSource> source;
  postprocess::YoloOutputLayout layout;
  postprocess::ClassNames names;
  int input_width = 0, input_height = 0;
  std::unique_ptr<inference::ExecutionContext> context;
  std::unique_ptr<DetectionStages> stages;  // the preprocess/inference/postprocess work, host or frame path
  std::string why_host;                     // why the frame path does not run
  std::unique_ptr<VideoFileSink> video;
  std::unique_ptr<JsonlSink> jsonl;
  std::vector<std::unique_ptr<ItemQueue>> queues;
  ItemPool pool{16};
  StageMetrics metrics[kStageCount];
  LatencyHistogram end_to_end;
  std::uint64_t frames_in = 0, frames_out = 0;
  std::atomic<bool> stop_requested{false};
  std::mutex error_mutex;
  std::string error;

  void fail(const std::string& message) {
    std::lock_guard lock(error_mutex);
    if (error.empty()) error = message;
  }
  void abort_all() {
    for (auto& q : queues) q->abort();
  }

  void check_model();
  void open_outputs();
  void make_stages();
  void capture();
  std::string render(WorkItem& item, Clock::time_point& last, double& fps);
  void sink();
  PipelineReport report(double wall_s) const;
};

void Pipeline::Impl::check_model() {
  const auto& in = engine->inputs();
  const auto& out = engine->outputs();
  if (in.size() != 1 || in[0].shape.size() != 4 || in[0].shape[1] != 3) {
    throw std::runtime_error("the model must have one image input of shape (B, 3, H, W)");
  }
  if (in[0].shape[0] != 1) {
    throw std::runtime_error("the pipeline runs batch 1, but the plan was built for batch " + std::to_string(in[0].shape[0]) +
                             ": rebuild with --batch 1");
  }
  input_height = static_cast<int>(in[0].shape[2]);
  input_width = static_cast<int>(in[0].shape[3]);
  if (out.empty()) throw std::runtime_error("the model has no output");
  const auto& metadata = engine->plan().graph.metadata;
  layout = postprocess::describe_yolo_output(out[0].shape, postprocess::metadata_class_count(metadata), out[0].name);
  names = postprocess::class_names_from_metadata(metadata, layout.num_classes);
}

void Pipeline::Impl::open_outputs() {
  if (!options.output_video.empty()) check_writable(options.output_video);
  if (!options.output_jsonl.empty()) jsonl = std::make_unique<JsonlSink>(options.output_jsonl, names);
  if (options.display && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY")) {
    throw std::runtime_error("--display needs a graphical session (DISPLAY is not set)");
  }
}

void Pipeline::Impl::capture() {
  StageMetrics& m = metrics[kCapture];
  ItemQueue& out = *queues[0];
  while (!stop_requested) {
    ItemPtr item = pool.take();
    item->frame.after_gap = false;
    const auto start = Clock::now();
    const ReadResult result = source->read(item->frame);
    if (result != ReadResult::kFrame) {
      if (result == ReadResult::kError) {
        fail("capture: " + source->last_error());
        abort_all();
      }
      break;
    }
    item->frame.captured = Clock::now();
    m.work_ms.record(ms_between(start, item->frame.captured));
    ++m.items;
    ++frames_in;
    if (!out.push(std::move(item))) break;
    if (options.max_frames > 0 && static_cast<std::int64_t>(frames_in) >= options.max_frames) break;
  }
  out.close();
}

void Pipeline::Impl::make_stages() {
  context = engine->create_context();
  inference::FrameDetector* frame = choose_frame_detector(*context, options.prepost, &why_host);
  stages = std::make_unique<DetectionStages>(*context, frame, layout, input_width, input_height, options.decode, options.classes);
}

std::string Pipeline::Impl::render(WorkItem& item, Clock::time_point& last, double& fps) {
  if (!options.output_video.empty() || options.display) {
    draw_detections(item.frame.image, item.detections, names);
    const auto now = Clock::now();
    if (last != Clock::time_point{}) {
      const double instant = 1000.0 / std::max(1e-3, ms_between(last, now));
      fps = fps == 0.0 ? instant : 0.9 * fps + 0.1 * instant;
    }
    last = now;
    char hud[128];
    std::snprintf(hud, sizeof hud, "%.1f fps | %zu objects | latency %.0f ms", fps, item.detections.size(),
                  ms_between(item.frame.captured, now));
    cv::putText(item.frame.image, hud, {10, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.8, {0, 0, 0}, 4, cv::LINE_AA);
    cv::putText(item.frame.image, hud, {10, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.8, {255, 255, 255}, 2, cv::LINE_AA);
  }
  return "";
}

void Pipeline::Impl::sink() {
  StageMetrics& m = metrics[kSink];
  ItemQueue& in = *queues[kSink - 1];
  ProgressBar progress(source->info().frame_count, options.progress);
  while (auto popped = in.pop()) {
    ItemPtr item = std::move(popped->value);
    const auto start = Clock::now();
    if (!options.output_video.empty() && !video) {
      video = std::make_unique<VideoFileSink>(options.output_video, item->frame.image.cols, item->frame.image.rows,
                                              source->info().fps);
    }
    std::string problem;
    if (video && !video->write(item->frame.image)) problem = video->last_error();
    if (problem.empty() && jsonl && !jsonl->write(item->frame, item->detections)) problem = jsonl->last_error();
    if (!problem.empty()) {
      fail("sink: " + problem);
      abort_all();
      break;
    }
    if (options.display) {
      cv::imshow("detstream", item->frame.image);
      if (cv::waitKey(1) == 27) stop_requested = true;
    }
    const auto now = Clock::now();
    m.work_ms.record(ms_between(start, now));
    end_to_end.record(ms_between(item->frame.captured, now));
    ++m.items;
    ++frames_out;
    progress.update(static_cast<std::int64_t>(frames_out));
    pool.give_back(std::move(item));
  }
  progress.finish();
}

PipelineReport Pipeline::Impl::report(double wall_s) const {
  PipelineReport r;
  r.source = source->info().description;
  r.backend = engine->plan().backend + "/" + std::string(inference::to_string(engine->plan().precision));
  r.preprocess_path = stages->preprocess_description();
  r.postprocess_path = stages->postprocess_description();
  r.host_path_reason = stages->frame_path() ? "" : why_host;
  r.frames_in = frames_in;
  r.frames_out = frames_out;
  r.wall_s = wall_s;
  r.fps = wall_s > 0 ? static_cast<double>(frames_out) / wall_s : 0.0;
  r.latency_p50_ms = end_to_end.percentile_ms(50);
  r.latency_p99_ms = end_to_end.percentile_ms(99);
  for (int s = 0; s < kStageCount; ++s) {
    StageReport st{kStageNames[s], metrics[s].work_ms.percentile_ms(50), metrics[s].work_ms.percentile_ms(99),
                   metrics[s].work_ms.mean_ms(), metrics[s].items};
    if (s == kCapture) {  // dropped before capture: by a live source's appsink (newest frame wins)
      st.dropped = source->frames_skipped();
      r.dropped += st.dropped;
    }
    if (s > 0) {
      st.queue_max = queues[s - 1]->high_water();
      st.queue_capacity = queues[s - 1]->capacity();
      st.dropped = queues[s - 1]->dropped();
      st.queue_policy = queues[s - 1]->policy() == OverflowPolicy::kBlock ? "block" : "drop-oldest";
      r.dropped += st.dropped;
    }
    r.stages.push_back(st);
  }
  r.stopped_early = stop_requested;
  if (const ConnectionStats* connection = source->connection()) {
    r.connection = *connection;
    r.source_lost = connection->gave_up;
  }
  r.error = error;
  if (error.empty()) {
    if (video) r.outputs.push_back(options.output_video);
    if (!options.output_jsonl.empty()) r.outputs.push_back(options.output_jsonl);
  }
  return r;
}

Pipeline::Pipeline(std::shared_ptr<const inference::Engine> engine, PipelineOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->engine = std::move(engine);
  impl_->options = std::move(options);
  impl_->check_model();
  impl_->make_stages();
  impl_->open_outputs();
  impl_->source = open_source(impl_->options.source, impl_->options.source_options,
                              [](const std::string& line) { std::fprintf(stderr, "detstream: %s\n", line.c_str()); });
  const OverflowPolicy policy = impl_->options.queues.policy.value_or(
      impl_->source->info().live ? OverflowPolicy::kDropOldest : OverflowPolicy::kBlock);
  for (int q = 0; q < kQueueCount; ++q) {
    impl_->queues.push_back(std::make_unique<ItemQueue>(impl_->options.queues.capacity, policy));
  }
  for (int s = 0; s < kStageCount; ++s) impl_->metrics[s].name = kStageNames[s];
}

Pipeline::~Pipeline() = default;

const SourceInfo& Pipeline::source_info() const { return impl_->source->info(); }

std::string Pipeline::prepost_description() const {
  const DetectionStages& s = *impl_->stages;
  return "preprocess: " + s.preprocess_description() + "; postprocess: " + s.postprocess_description() +
         (s.frame_path() ? "" : " (" + impl_->why_host + ")");
}

void Pipeline::request_stop() {
  impl_->stop_requested = true;
  impl_->source->stop();
}

PipelineReport Pipeline::run() {
  Impl& p = *impl_;
  const auto start = Clock::now();
  DetectionStages& detection = *p.stages;
  Clock::time_point last_render{};
  double render_fps = 0.0;
  auto stage = [&](int s, StageWork work) {
    return std::thread([&p, s, work = std::move(work)] {
      const std::string error = run_transform_stage(*p.queues[s - 1], *p.queues[s], p.metrics[s], work);
      if (!error.empty()) p.fail(error);
    });
  };
  std::vector<std::thread> threads;
  threads.emplace_back([&p] { p.capture(); });
  threads.push_back(stage(kPreprocess, [&](WorkItem& item) { return detection.preprocess(item); }));
  threads.push_back(stage(kInference, [&](WorkItem& item) { return detection.infer(item); }));
  threads.push_back(stage(kPostprocess, [&](WorkItem& item) { return detection.postprocess(item); }));
  threads.push_back(stage(kRender, [&](WorkItem& item) { return p.render(item, last_render, render_fps); }));
  threads.emplace_back([&p] { p.sink(); });
  for (auto& t : threads) t.join();
  if (p.error.empty() && p.video && !p.video->finish()) p.fail("sink: " + p.video->last_error());
  if (p.error.empty() && p.jsonl && !p.jsonl->finish()) p.fail("sink: " + p.jsonl->last_error());
  // A stop requested before the first frame (a signal while starting up) is not an error: there is
  // simply no video to write (an mp4 without frames cannot be made playable).
  if (p.error.empty() && !p.options.output_video.empty() && !p.video && !p.stop_requested) {
    p.fail("no frame reached the video output");
  }
  return p.report(std::chrono::duration<double>(Clock::now() - start).count());
}

}  // namespace detstream::pipeline
