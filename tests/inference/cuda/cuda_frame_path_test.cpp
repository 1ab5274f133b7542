// The cuda backend's frame path (ExecutionContext::frame_detector) against the host path on
// yolov8n, fp32 and fp16: a raw BGR frame goes (a) through the GPU letterbox, the engine and the
// GPU decode + confidence filter, then sort + NMS + scaling on the host, and (b) through the CPU
// letterbox reference, execute() and the host decoder. The detections must agree (same classes,
// IoU >= 0.97, |confidence difference| <= 0.01); only detections within 0.01 of the threshold may
// be found by one path alone. The frame is ../shared/images/bus_810x1080.bgr (raw BGR of bus.jpg,
// written by bench/cuda/make_bundle.sh); without it a synthetic frame is used and the test says so.
// Pinned, device and row-padded copies of the frame must give the same candidates as pageable
// memory. GPU tests skip without a GPU.
#if defined(DETSTREAM_WITH_CUDA) && defined(DETSTREAM_TESTS_WITH_POSTPROCESS)
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "inference/builder/builder.h"
#include "inference/cuda/frame_detector.h"
#include "postprocess/decoder.h"
#include "postprocess/letterbox_geometry.h"
#include "postprocess/yolo_output.h"
#include "support/shared_data.h"
#include "tests/inference/cuda/cuda_test_support.h"
#include "tests/inference/cuda/letterbox_reference.h"

namespace detstream::inference::cuda {
namespace {

using postprocess::Detection;

struct RawFrame {
  std::vector<std::uint8_t> bgr;
  int width = 0, height = 0;
  bool real = false;
};

RawFrame load_frame() {
  RawFrame frame;
  frame.width = 810;
  frame.height = 1080;
  const std::filesystem::path path = detstream::testing::shared_dir() / "images/bus_810x1080.bgr";
  const std::size_t bytes = 3u * 810 * 1080;
  std::ifstream file(path, std::ios::binary);
  if (file && std::filesystem::file_size(path) == bytes) {
    frame.bgr.resize(bytes);
    file.read(reinterpret_cast<char*>(frame.bgr.data()), static_cast<std::streamsize>(bytes));
    frame.real = static_cast<std::size_t>(file.gcount()) == bytes;
  }
  if (!frame.real) {
    std::printf("\n*** %s not found: a synthetic frame is used (few or no detections); bench/cuda/make_bundle.sh writes "
                "it ***\n\n", path.string().c_str());
    frame.bgr = random_frame(frame.width, frame.height, 11);
  }
  return frame;
}

std::vector<postprocess::NmsCandidate> to_nms(std::span<const FrameCandidate> found) {
  std::vector<postprocess::NmsCandidate> out;
  for (const FrameCandidate& c : found) out.push_back({{c.x1, c.y1, c.x2, c.y2}, c.score, c.class_id, c.anchor});
  return out;
}

std::vector<FrameCandidate> sorted_by_anchor(std::span<const FrameCandidate> found) {
  std::vector<FrameCandidate> out(found.begin(), found.end());
  std::sort(out.begin(), out.end(), [](const FrameCandidate& a, const FrameCandidate& b) { return a.anchor < b.anchor; });
  return out;
}

void print(const char* what, const std::vector<Detection>& detections) {
  std::printf("[ cuda ] %s:", what);
  for (const Detection& d : detections) {
    std::printf(" c%d %.3f [%.1f %.1f %.1f %.1f]", d.class_id, d.confidence, d.box.x1, d.box.y1, d.box.x2, d.box.y2);
  }
  std::printf("\n");
}

// Every detection of one path has a same-class partner in the other (IoU >= 0.97, confidences
// within 0.01), except detections at the threshold's edge.
void expect_same_detections(const std::vector<Detection>& host, const std::vector<Detection>& frame, float threshold) {
  std::vector<bool> used(frame.size(), false);
  for (const Detection& h : host) {
    int best = -1;
    float best_iou = 0.0f;
    for (std::size_t f = 0; f < frame.size(); ++f) {
      if (used[f] || frame[f].class_id != h.class_id) continue;
      const float overlap = postprocess::iou(h.box, frame[f].box);
      if (overlap > best_iou) {
        best_iou = overlap;
        best = static_cast<int>(f);
      }
    }
    if (best < 0) {
      EXPECT_LT(h.confidence, threshold + 0.01f) << "host detection of class " << h.class_id << " (" << h.confidence
                                                 << ") has no partner on the frame path";
      continue;
    }
    used[static_cast<std::size_t>(best)] = true;
    EXPECT_GE(best_iou, 0.97f) << "class " << h.class_id;
    EXPECT_LE(std::fabs(h.confidence - frame[static_cast<std::size_t>(best)].confidence), 0.01f) << "class " << h.class_id;
  }
  for (std::size_t f = 0; f < frame.size(); ++f) {
    if (!used[f]) {
      EXPECT_LT(frame[f].confidence, threshold + 0.01f) << "frame-path detection of class " << frame[f].class_id << " ("
                                                        << frame[f].confidence << ") has no partner on the host path";
    }
  }
}

struct DeviceCopy {
  void* p = nullptr;
  ~DeviceCopy() { cudaFree(p); }
};
struct PinnedCopy {
  void* p = nullptr;
  ~PinnedCopy() { cudaFreeHost(p); }
};

void run_frame_path_against_host_path(Precision precision) {
  DETSTREAM_REQUIRE_SHARED(model, "models/yolov8n.onnx");
  const RawFrame frame = load_frame();
  BuildOptions options;
  options.backend = "cuda";
  options.precision = precision;
  auto engine = Engine::create(build_plan_from_onnx(model, options));
  auto context = engine->create_context();
  const Shape input_shape = engine->inputs()[0].shape;
  const int tw = static_cast<int>(input_shape[3]), th = static_cast<int>(input_shape[2]);
  const postprocess::LetterboxGeometry geometry = postprocess::compute_letterbox_geometry(frame.width, frame.height, tw, th);
  const postprocess::YoloOutputLayout layout = postprocess::describe_yolo_output(engine->outputs()[0].shape, 80);
  postprocess::DecodeOptions decode;
  postprocess::Decoder decoder(layout, decode);

  // Host path: CPU letterbox reference -> execute -> decode + NMS on the host.
  const Geometry g{geometry.resized_width, geometry.resized_height, geometry.pad_left, geometry.pad_top};
  const std::vector<float> input = cpu_letterbox(frame.bgr, frame.width, frame.height, g, tw, th);
  const std::vector<Tensor> output = context->run({Tensor::from_float(input, input_shape)});
  const auto host_found = decoder.decode(output[0].data<float>(), geometry);
  const std::vector<Detection> host(host_found.begin(), host_found.end());

  // Frame path, on the same context.
  std::string why;
  FrameDetector* detector = context->frame_detector(&why);
  ASSERT_NE(detector, nullptr) << why;
  const std::size_t row = 3u * static_cast<std::size_t>(frame.width);
  const FramePlacement placement{geometry.resized_width, geometry.resized_height, geometry.pad_left, geometry.pad_top};
  const FrameInput pageable{{frame.bgr.data(), frame.width, frame.height, row}, placement};
  ASSERT_TRUE(detector->detect({&pageable, 1}, decode.conf_threshold));
  const std::vector<FrameCandidate> reference = sorted_by_anchor(detector->candidates(0));
  std::vector<postprocess::NmsCandidate> candidates = to_nms(detector->candidates(0));
  const auto frame_found = decoder.decode_candidates(candidates, geometry);
  const std::vector<Detection> on_gpu(frame_found.begin(), frame_found.end());

  std::printf("[ cuda ] yolov8n %s, %s frame %dx%d: %zu candidates above %.2f on the GPU, %zu vs %zu detections\n",
              std::string(to_string(precision)).c_str(), frame.real ? "bus.jpg" : "synthetic", frame.width, frame.height,
              reference.size(), decode.conf_threshold, on_gpu.size(), host.size());
  print("host path ", host);
  print("frame path", on_gpu);
  if (frame.real) {
    EXPECT_GE(host.size(), 4u) << "bus.jpg shows a bus and several people";
  }
  expect_same_detections(host, on_gpu, decode.conf_threshold);

  // The same frame from pinned memory, device memory and with padded rows: the same candidates.
  PinnedCopy pinned;
  ASSERT_EQ(cudaMallocHost(&pinned.p, frame.bgr.size()), cudaSuccess);
  std::memcpy(pinned.p, frame.bgr.data(), frame.bgr.size());
  DeviceCopy device;
  ASSERT_EQ(cudaMalloc(&device.p, frame.bgr.size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device.p, frame.bgr.data(), frame.bgr.size(), cudaMemcpyHostToDevice), cudaSuccess);
  const std::size_t padded_row = row + 64;
  std::vector<std::uint8_t> padded(padded_row * static_cast<std::size_t>(frame.height), 0);
  for (int y = 0; y < frame.height; ++y) std::memcpy(padded.data() + padded_row * y, frame.bgr.data() + row * y, row);
  const struct {
    const char* what;
    FrameInput input;
  } variants[] = {{"pinned", {{static_cast<const std::uint8_t*>(pinned.p), frame.width, frame.height, row}, placement}},
                  {"device", {{static_cast<const std::uint8_t*>(device.p), frame.width, frame.height, row}, placement}},
                  {"padded rows", {{padded.data(), frame.width, frame.height, padded_row}, placement}},
                  {"pageable again", pageable}};
  for (const auto& v : variants) {
    ASSERT_TRUE(detector->detect({&v.input, 1}, decode.conf_threshold)) << v.what;
    const std::vector<FrameCandidate> again = sorted_by_anchor(detector->candidates(0));
    ASSERT_EQ(again.size(), reference.size()) << v.what;
    for (std::size_t i = 0; i < again.size(); ++i) {
      ASSERT_EQ(again[i].anchor, reference[i].anchor) << v.what;
      EXPECT_EQ(again[i].class_id, reference[i].class_id) << v.what;
      EXPECT_EQ(again[i].score, reference[i].score) << v.what;
      EXPECT_EQ(again[i].x1, reference[i].x1) << v.what;
      EXPECT_EQ(again[i].y2, reference[i].y2) << v.what;
    }
  }

  // A threshold of 0 keeps nearly every anchor (more than the first copy holds): none is lost.
  ASSERT_TRUE(detector->detect({&pageable, 1}, 0.0f));
  std::size_t above_zero = 0;
  const float* scores = output[0].data<float>() + 4 * layout.num_anchors;
  for (std::int64_t a = 0; a < layout.num_anchors; ++a) {
    float best = scores[a];
    for (int c = 1; c < layout.num_classes; ++c) best = std::max(best, scores[c * layout.num_anchors + a]);
    above_zero += best > 0.0f ? 1 : 0;
  }
  EXPECT_GT(detector->candidates(0).size(), static_cast<std::size_t>(CudaFrameDetector::kFirstCopy));
  EXPECT_NEAR(static_cast<double>(detector->candidates(0).size()), static_cast<double>(above_zero), 0.01 * above_zero);

  // Misuse comes back as a Status, and the context still works afterwards.
  const FrameInput too_big{pageable.frame, {tw + 2, th, 0, 0}};
  const Status refused = detector->detect({&too_big, 1}, decode.conf_threshold);
  EXPECT_FALSE(refused);
  std::printf("[ cuda ] refused: %s\n", refused.message().c_str());
  const FrameInput two[] = {pageable, pageable};
  EXPECT_FALSE(detector->detect(two, decode.conf_threshold));
  ASSERT_TRUE(detector->detect({&pageable, 1}, decode.conf_threshold));
  EXPECT_EQ(detector->candidates(0).size(), reference.size());
  const std::vector<Tensor> output_again = context->run({Tensor::from_float(input, input_shape)});
  EXPECT_EQ(std::memcmp(output_again[0].data<float>(), output[0].data<float>(), output[0].count() * sizeof(float)), 0)
      << "the host path after the frame path";
}

TEST(CudaFramePath, Fp32MatchesTheHostPathOnYolov8n) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  run_frame_path_against_host_path(Precision::kFp32);
}

TEST(CudaFramePath, Fp16MatchesTheHostPathOnYolov8n) {
  DETSTREAM_REQUIRE_CUDA_DEVICE();
  run_frame_path_against_host_path(Precision::kFp16);
}

}  // namespace
}  // namespace detstream::inference::cuda
#endif  // DETSTREAM_WITH_CUDA && DETSTREAM_TESTS_WITH_POSTPROCESS
