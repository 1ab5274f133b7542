#include "postprocess/decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "inference/core/error.h"
#include "inference/onnx/importer.h"
#include "postprocess/class_names.h"
#include "postprocess/golden_detections.h"
#include "support/shared_data.h"
#include "support/tensor_compare.h"

namespace detstream::postprocess {
namespace {

// Decode + NMS + scaling of every golden raw output (class count from the output's shape).
class DecoderGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(DecoderGolden, ReproducesReferenceDetections) {
  const std::string tag = GetParam();
  DETSTREAM_REQUIRE_SHARED(json_path, "golden/" + tag + ".json");
  DETSTREAM_REQUIRE_SHARED(output_path, "golden/" + tag + ".output.f32");
  const auto golden = testing::read_golden(json_path);
  const std::vector<float> output = testing::read_f32_file(output_path);
  const YoloOutputLayout layout = describe_yolo_output(golden.output_shape, std::nullopt);
  ASSERT_EQ(static_cast<std::int64_t>(output.size()), layout.batch * layout.image_stride());

  const auto& lb = golden.json.at("letterbox");
  const int imgsz = golden.json.at("imgsz").get<int>();
  const LetterboxGeometry geometry =
      compute_letterbox_geometry(golden.source_width, golden.source_height, imgsz, imgsz);
  EXPECT_DOUBLE_EQ(geometry.scale, lb.at("scale").get<double>());
  EXPECT_EQ(geometry.pad_left, lb.at("pad_left").get<int>());
  EXPECT_EQ(geometry.pad_top, lb.at("pad_top").get<int>());

  DecodeOptions options;
  options.conf_threshold = golden.json.at("conf").get<float>();
  options.iou_threshold = golden.json.at("iou").get<float>();
  Decoder decoder(layout, options);
  const auto found = decoder.decode(output.data(), geometry);
  const std::vector<Detection> actual(found.begin(), found.end());
  const auto stats = testing::expect_parity(actual, golden.detections, tag);
  std::printf("[parity] %s: %zu detections, min IoU %.5f, max |dconf| %.6f\n", tag.c_str(), actual.size(),
              static_cast<double>(stats.min_iou), static_cast<double>(stats.max_conf_diff));
}

INSTANTIATE_TEST_SUITE_P(AllGoldens, DecoderGolden,
                         ::testing::Values("bus_640", "zidane_640", "bus_yolo11n_320", "zidane_yolo11n_320",
                                           "bus_yolov8n_4cls_320", "bus_yolov8n_dynamic_2cls"),
                         [](const auto& info) { return std::string(info.param); });

// The custom 4-class model: its names come from its ONNX metadata and agree with its output shape.
TEST(DecoderGolden4Cls, NamesComeFromTheModelMetadata) {
  DETSTREAM_REQUIRE_SHARED(json_path, "golden/bus_yolov8n_4cls_320.json");
  DETSTREAM_REQUIRE_SHARED(output_path, "golden/bus_yolov8n_4cls_320.output.f32");
  DETSTREAM_REQUIRE_SHARED(model_path, "models/yolov8n_4cls_320.onnx");
  const auto golden = testing::read_golden(json_path);
  const auto output = testing::read_f32_file(output_path);
  const auto metadata = inference::onnx::import_model_file(model_path).metadata;
  const YoloOutputLayout layout = describe_yolo_output(golden.output_shape, metadata_class_count(metadata));
  ASSERT_EQ(layout.num_classes, 4);
  const ClassNames names = class_names_from_metadata(metadata, layout.num_classes);
  EXPECT_EQ(names, (ClassNames{"head", "helmet", "no-jacket", "safety-jacket"}));

  Decoder decoder(layout);
  const auto found = decoder.decode(output.data(), compute_letterbox_geometry(golden.source_width,
                                                                              golden.source_height, 320, 320));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(names[static_cast<std::size_t>(found[0].class_id)], "head");
  EXPECT_EQ(names[static_cast<std::size_t>(found[2].class_id)], "no-jacket");
}

// A hand-made (1, 4 + 2, N) output, channel-major like the real heads.
struct Synthetic {
  int classes = 2;
  int anchors = 0;
  std::vector<float> data;
  Synthetic(int nc, int n) : classes(nc), anchors(n), data(static_cast<std::size_t>((4 + nc) * n), 0.0f) {}
  void set(int anchor, float cx, float cy, float w, float h, int cls, float score) {
    at(0, anchor) = cx, at(1, anchor) = cy, at(2, anchor) = w, at(3, anchor) = h;
    at(4 + cls, anchor) = score;
  }
  float& at(int row, int anchor) { return data[static_cast<std::size_t>(row * anchors + anchor)]; }
  YoloOutputLayout layout() const { return {1, classes, anchors}; }
};

TEST(Decoder, ConfidenceThresholdIsStrict) {
  Synthetic s(2, 3);
  s.set(0, 50, 50, 10, 10, 0, 0.25f);   // equal to conf: dropped
  s.set(1, 150, 50, 10, 10, 1, 0.26f);  // kept
  s.set(2, 250, 50, 10, 10, 0, 0.1f);
  Decoder decoder(s.layout());
  const auto found = decoder.decode_in_input_space(s.data.data());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].class_id, 1);
  EXPECT_FLOAT_EQ(found[0].box.x1, 145.0f);
  EXPECT_FLOAT_EQ(found[0].box.y2, 55.0f);
}

TEST(Decoder, BestClassWinsAndLowestIdWinsTies) {
  Synthetic s(3, 2);
  s.set(0, 50, 50, 10, 10, 0, 0.4f);
  s.at(4 + 2, 0) = 0.6f;  // class 2 beats class 0
  s.set(1, 150, 50, 10, 10, 1, 0.5f);
  s.at(4 + 2, 1) = 0.5f;  // tie between 1 and 2: class 1
  Decoder decoder(s.layout());
  const auto found = decoder.decode_in_input_space(s.data.data());
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].class_id, 2);
  EXPECT_FLOAT_EQ(found[0].confidence, 0.6f);
  EXPECT_EQ(found[1].class_id, 1);
}

TEST(Decoder, MaxNmsKeepsOnlyTheHighestScoringCandidates) {
  Synthetic s(1, 4);
  for (int i = 0; i < 4; ++i) s.set(i, 20.0f + 40.0f * i, 20, 10, 10, 0, 0.3f + 0.1f * i);
  DecodeOptions options;
  options.max_nms = 2;
  Decoder decoder(s.layout(), options);
  const auto found = decoder.decode_in_input_space(s.data.data());
  ASSERT_EQ(found.size(), 2u);
  EXPECT_FLOAT_EQ(found[0].confidence, 0.6f);
  EXPECT_FLOAT_EQ(found[1].confidence, 0.5f);
}

TEST(Decoder, ScalesBackAndClipsToTheSourceImage) {
  // 100x50 source into 64x64: scale 0.64, resized 64x32, pad_top 16.
  const LetterboxGeometry g = compute_letterbox_geometry(100, 50, 64, 64);
  ASSERT_EQ(g.pad_top, 16);
  Synthetic s(1, 1);
  s.set(0, 32, 32, 80, 16, 0, 0.9f);  // x from -8 to 72: clipped to [0, 100]
  Decoder decoder(s.layout());
  const auto found = decoder.decode(s.data.data(), g);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FLOAT_EQ(found[0].box.x1, 0.0f);
  EXPECT_FLOAT_EQ(found[0].box.x2, 100.0f);
  EXPECT_NEAR(found[0].box.y1, (24.0f - 16.0f) / 0.64f, 1e-4);
  EXPECT_NEAR(found[0].box.y2, (40.0f - 16.0f) / 0.64f, 1e-4);
}

TEST(Decoder, ReusedAcrossCallsGivesTheSameResult) {
  Synthetic s(2, 3);
  s.set(0, 50, 50, 10, 10, 0, 0.9f);
  s.set(1, 51, 50, 10, 10, 0, 0.8f);  // overlaps 0 heavily: suppressed
  s.set(2, 51, 50, 10, 10, 1, 0.7f);  // other class: kept
  Decoder decoder(s.layout());
  const auto first = decoder.decode_in_input_space(s.data.data());
  const std::vector<Detection> copy(first.begin(), first.end());
  const auto second = decoder.decode_in_input_space(s.data.data());
  ASSERT_EQ(copy.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].class_id, 1);
}

// The frame path's half: candidates filtered elsewhere (a GPU), handed over in any order, give
// exactly decode()'s detections, including equal scores (anchor order decides) and the max_nms cap.
TEST(Decoder, CandidatesFilteredElsewhereGiveTheSameDetectionsInAnyOrder) {
  const int classes = 5, anchors = 600;
  Synthetic s(classes, anchors);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> position(0.0f, 300.0f), size(5.0f, 60.0f), score(0.0f, 1.0f);
  for (int a = 0; a < anchors; ++a) {
    s.set(a, position(rng), position(rng), size(rng), size(rng), a % classes, score(rng));
    s.at(4 + (a + 1) % classes, a) = score(rng) * 0.5f;
  }
  for (int a = 10; a < 20; ++a) s.set(a, 100, 100, 30, 30, 2, 0.75f);  // equal scores, overlapping boxes
  const LetterboxGeometry g = compute_letterbox_geometry(500, 400, 320, 320);
  for (int max_nms : {30000, 40}) {
    DecodeOptions options;
    options.max_nms = max_nms;
    Decoder host(s.layout(), options), frame(s.layout(), options);
    const auto found = host.decode(s.data.data(), g);
    const std::vector<Detection> expected(found.begin(), found.end());
    ASSERT_GT(expected.size(), 10u);
    // What a GPU filter hands back: best class, strictly above the threshold, boxes as corners.
    std::vector<NmsCandidate> candidates;
    for (int a = 0; a < anchors; ++a) {
      int best = 0;
      for (int c = 1; c < classes; ++c) best = s.at(4 + c, a) > s.at(4 + best, a) ? c : best;
      if (!(s.at(4 + best, a) > options.conf_threshold)) continue;
      const float hw = s.at(2, a) / 2.0f, hh = s.at(3, a) / 2.0f;
      candidates.push_back({{s.at(0, a) - hw, s.at(1, a) - hh, s.at(0, a) + hw, s.at(1, a) + hh}, s.at(4 + best, a), best, a});
    }
    for (int round = 0; round < 3; ++round) {
      std::shuffle(candidates.begin(), candidates.end(), rng);
      const auto got = frame.decode_candidates(candidates, g);
      ASSERT_EQ(got.size(), expected.size()) << "max_nms " << max_nms;
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].class_id, expected[i].class_id);
        EXPECT_EQ(got[i].confidence, expected[i].confidence);
        EXPECT_EQ(got[i].box.x1, expected[i].box.x1);
        EXPECT_EQ(got[i].box.y1, expected[i].box.y1);
        EXPECT_EQ(got[i].box.x2, expected[i].box.x2);
        EXPECT_EQ(got[i].box.y2, expected[i].box.y2);
      }
    }
  }
}

TEST(Decoder, RejectsBadOptions) {
  DecodeOptions bad;
  bad.conf_threshold = 1.5f;
  EXPECT_THROW(Decoder({1, 2, 10}, bad), inference::Error);
  bad = {};
  bad.max_det = 0;
  EXPECT_THROW(Decoder({1, 2, 10}, bad), inference::Error);
}

}  // namespace
}  // namespace detstream::postprocess
