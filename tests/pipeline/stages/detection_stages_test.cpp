// The pipeline's choice of pre/post-processing path and the frame path's stages, without a GPU:
// the cpu backend has no frame path (host path, and why); a fake frame path (a FrameDetector that
// letterboxes with OpenCV, runs a cpu context and filters on the CPU, handing its candidates back
// shuffled as GPU atomics would) goes through preprocess (geometry only) -> infer (candidates)
// -> postprocess (sort + NMS + scale) and must give exactly the host path's detections for the
// same frame, also with a class filter. yolov8n and bus.jpg from ../shared.
#include "pipeline/stages/detection_stages.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "inference/builder/builder.h"
#include "postprocess/class_names.h"
#include "postprocess/yolo_output.h"
#include "support/shared_data.h"

namespace detstream::pipeline {
namespace {

using postprocess::Detection;

// The frame path as a backend would offer it, computed on the CPU from a cpu context.
class FakeFrameDetector final : public inference::FrameDetector {
 public:
  FakeFrameDetector(inference::ExecutionContext& context, const postprocess::YoloOutputLayout& layout, int width, int height)
      : context_(context), layout_(layout), letterboxer_(width, height), input_(letterboxer_.tensor_size()),
        output_(static_cast<std::size_t>(layout.image_stride())) {}

  std::string_view preprocess_description() const override { return "fake letterbox"; }
  std::string_view postprocess_description() const override { return "fake filter"; }

  inference::Status detect(std::span<const inference::FrameInput> images, float conf_threshold) override {
    ++calls;
    if (images.size() != 1) return inference::Status::error("fake: one frame at a time");
    const inference::BgrFrame& f = images[0].frame;
    const cv::Mat frame(f.height, f.width, CV_8UC3, const_cast<std::uint8_t*>(f.data), f.row_bytes);
    const postprocess::LetterboxGeometry g = letterboxer_.run(frame, input_);
    const inference::FramePlacement& p = images[0].placement;
    if (g.resized_width != p.resized_width || g.resized_height != p.resized_height || g.pad_left != p.pad_left ||
        g.pad_top != p.pad_top) {
      return inference::Status::error("fake: the placement is not the letterbox's");
    }
    const auto& in = context_.engine().inputs()[0];
    const auto& out = context_.engine().outputs()[0];
    const inference::ConstTensorView input{in.dtype, in.shape, input_.data()};
    const inference::TensorView output{out.dtype, out.shape, output_.data()};
    if (auto s = context_.execute({&input, 1}, {&output, 1}); !s) return s;
    // The GPU filter's rule: best class (lowest id on ties), strictly above the threshold.
    const std::int64_t n = layout_.num_anchors;
    candidates_.clear();
    for (std::int64_t a = 0; a < n; ++a) {
      int best = 0;
      for (int c = 1; c < layout_.num_classes; ++c) best = output_[(4 + c) * n + a] > output_[(4 + best) * n + a] ? c : best;
      const float score = output_[(4 + best) * n + a];
      if (!(score > conf_threshold)) continue;
      const float cx = output_[a], cy = output_[n + a], hw = output_[2 * n + a] / 2.0f, hh = output_[3 * n + a] / 2.0f;
      candidates_.push_back({cx - hw, cy - hh, cx + hw, cy + hh, score, best, static_cast<int>(a)});
    }
    std::shuffle(candidates_.begin(), candidates_.end(), rng_);  // atomics hand them back in any order
    return inference::Status::ok();
  }

  std::span<const inference::FrameCandidate> candidates(std::size_t image) const override {
    return image == 0 ? std::span<const inference::FrameCandidate>(candidates_) : std::span<const inference::FrameCandidate>();
  }

  int calls = 0;

 private:
  inference::ExecutionContext& context_;
  postprocess::YoloOutputLayout layout_;
  Letterboxer letterboxer_;
  std::vector<float> input_, output_;
  std::vector<inference::FrameCandidate> candidates_;
  std::mt19937 rng_{7};
};

class DetectionStagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
    DETSTREAM_REQUIRE_SHARED(image, "images/bus.jpg");
    inference::BuildOptions options;
    options.backend = "cpu";
    engine_ = inference::Engine::create(inference::build_plan_from_onnx(model, options), 1);
    context_ = engine_->create_context();
    fake_context_ = engine_->create_context();
    const auto& metadata = engine_->plan().graph.metadata;
    layout_ = postprocess::describe_yolo_output(engine_->outputs()[0].shape, postprocess::metadata_class_count(metadata));
    height_ = static_cast<int>(engine_->inputs()[0].shape[2]);
    width_ = static_cast<int>(engine_->inputs()[0].shape[3]);
    frame_ = cv::imread(image, cv::IMREAD_COLOR);
    ASSERT_FALSE(frame_.empty());
  }

  // One frame through the three stages, as the pipeline's threads run them.
  std::vector<Detection> run(DetectionStages& stages, WorkItem& item) {
    item.frame.image = frame_.clone();
    EXPECT_EQ(stages.preprocess(item), "");
    EXPECT_EQ(stages.infer(item), "");
    EXPECT_EQ(stages.postprocess(item), "");
    return item.detections;
  }

  std::shared_ptr<const inference::Engine> engine_;
  std::unique_ptr<inference::ExecutionContext> context_, fake_context_;
  postprocess::YoloOutputLayout layout_;
  int width_ = 0, height_ = 0;
  cv::Mat frame_;
};

void expect_identical(const std::vector<Detection>& host, const std::vector<Detection>& frame) {
  ASSERT_EQ(host.size(), frame.size());
  for (std::size_t i = 0; i < host.size(); ++i) {
    EXPECT_EQ(host[i].class_id, frame[i].class_id) << i;
    EXPECT_EQ(host[i].confidence, frame[i].confidence) << i;
    EXPECT_EQ(host[i].box.x1, frame[i].box.x1) << i;
    EXPECT_EQ(host[i].box.y1, frame[i].box.y1) << i;
    EXPECT_EQ(host[i].box.x2, frame[i].box.x2) << i;
    EXPECT_EQ(host[i].box.y2, frame[i].box.y2) << i;
  }
}

TEST_F(DetectionStagesTest, TheCpuBackendHasNoFramePathSoTheHostPathRuns) {
  std::string why;
  EXPECT_EQ(context_->frame_detector(&why), nullptr);
  EXPECT_NE(why.find("no frame path"), std::string::npos) << why;
  inference::FrameDetector* chosen = choose_frame_detector(*context_, PrepostMode::kAuto, &why);
  EXPECT_EQ(chosen, nullptr);
  EXPECT_EQ(choose_frame_detector(*context_, PrepostMode::kHost, &why), nullptr);
  EXPECT_EQ(why, "host path requested");
  DetectionStages stages(*context_, chosen, layout_, width_, height_, {}, {});
  EXPECT_FALSE(stages.frame_path());
  EXPECT_EQ(stages.preprocess_description(), "cpu letterbox (OpenCV)");
  WorkItem item;
  const std::vector<Detection> found = run(stages, item);
  EXPECT_GE(found.size(), 4u);  // a bus and people
  EXPECT_EQ(item.input.size(), 3u * width_ * height_);
  EXPECT_TRUE(item.candidates.empty());
}

TEST_F(DetectionStagesTest, AFramePathGivesExactlyTheHostPathsDetections) {
  FakeFrameDetector fake(*fake_context_, layout_, width_, height_);
  DetectionStages host(*context_, nullptr, layout_, width_, height_, {}, {});
  DetectionStages frame(*context_, &fake, layout_, width_, height_, {}, {});
  EXPECT_TRUE(frame.frame_path());
  EXPECT_EQ(frame.preprocess_description(), "fake letterbox");
  EXPECT_EQ(frame.postprocess_description(), "fake filter");
  WorkItem host_item, frame_item;
  const std::vector<Detection> expected = run(host, host_item);
  ASSERT_GE(expected.size(), 4u);
  for (int round = 0; round < 2; ++round) {  // a recycled item: the second frame reuses its buffers
    const std::vector<Detection> got = run(frame, frame_item);
    expect_identical(expected, got);
    EXPECT_EQ(fake.calls, round + 1);
    EXPECT_TRUE(frame_item.input.empty()) << "the frame path makes no host input tensor";
    EXPECT_TRUE(frame_item.output.empty()) << "nor copies the whole output back";
    EXPECT_GT(frame_item.candidates.size(), expected.size());
  }
  EXPECT_EQ(frame_item.geometry.resized_width, host_item.geometry.resized_width);
  EXPECT_EQ(frame_item.geometry.pad_top, host_item.geometry.pad_top);
}

TEST_F(DetectionStagesTest, AFramePathAppliesTheClassFilterAndThresholdLikeTheHostPath) {
  FakeFrameDetector fake(*fake_context_, layout_, width_, height_);
  postprocess::DecodeOptions decode;
  decode.conf_threshold = 0.5f;
  decode.iou_threshold = 0.5f;
  DetectionStages host(*context_, nullptr, layout_, width_, height_, decode, {0});
  DetectionStages frame(*context_, &fake, layout_, width_, height_, decode, {0});
  WorkItem host_item, frame_item;
  const std::vector<Detection> expected = run(host, host_item);
  ASSERT_FALSE(expected.empty());
  for (const Detection& d : expected) EXPECT_EQ(d.class_id, 0);
  expect_identical(expected, run(frame, frame_item));
}

TEST(PrepostMode, HostModeNeverAsksForTheFramePathAndBadNamesAreRefused) {
  EXPECT_EQ(parse_prepost_mode("auto"), PrepostMode::kAuto);
  EXPECT_EQ(parse_prepost_mode("host"), PrepostMode::kHost);
  EXPECT_THROW(parse_prepost_mode("gpu"), std::runtime_error);
}

}  // namespace
}  // namespace detstream::pipeline
