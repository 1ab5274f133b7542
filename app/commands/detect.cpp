// `detstream detect`: one image through the engine with Ultralytics' pre- and post-processing
// (letterbox, decode, class-aware NMS, scale back), printed as a table and optionally written as
// JSON (--json) and as an annotated image (--save). The inputs and output paths are all checked
// before the model is loaded, and outputs are written to a temporary file in the target folder
// then renamed, so a failure never leaves a half-written file behind.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "app/command.h"
#include "app/model_loader.h"
#include "inference/core/error.h"
#include "inference/runtime/engine.h"
#include "pipeline/preprocess/letterbox.h"
#include "pipeline/render/overlay.h"
#include "postprocess/class_names.h"
#include "postprocess/decoder.h"
#include "postprocess/detection_json.h"
#include "postprocess/yolo_output.h"

namespace detstream::app {

namespace {

namespace fs = std::filesystem;
using inference::Error;
using Clock = std::chrono::steady_clock;

struct DetectOptions {
  ModelOptions model;
  std::string image;
  float conf = 0.25f;
  float iou = 0.7f;
  int max_det = 300;
  std::string json_path;
  std::string save_path;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

cv::Mat read_image(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("image '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw Error("image '" + path + "' is a directory, not an image file");
  if (!std::ifstream(path, std::ios::binary)) throw Error("cannot open image '" + path + "' (permission denied?)");
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) {
    throw Error("cannot decode image '" + path + "': not an image format OpenCV reads (jpg, png, bmp, webp, ...)");
  }
  return image;
}

// A sibling of `path` that the final rename replaces it with (same folder, so rename is atomic).
fs::path temp_path_for(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
}

// Proves that `path` can be written by creating (and removing) its temporary sibling now, before
// any time is spent on the model.
void check_writable(const std::string& path, const std::string& flag) {
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) throw Error(flag + " '" + path + "' is a directory; give a file name");
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  if (!fs::is_directory(parent, ec)) throw Error(flag + ": folder '" + parent.string() + "' does not exist");
  const fs::path probe = temp_path_for(target);
  {
    std::ofstream out(probe, std::ios::binary);
    if (!out) throw Error(flag + ": cannot write '" + path + "' (no permission to create files in '" + parent.string() + "')");
  }
  fs::remove(probe, ec);
}

void write_atomically(const std::string& path, const void* data, std::size_t size, const std::string& flag) {
  const fs::path temp = temp_path_for(path);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(temp, ec);
      throw Error(flag + ": writing '" + path + "' failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error(flag + ": cannot replace '" + path + "': " + ec.message());
  }
}

void check_output_paths(const DetectOptions& options) {
  if (!options.json_path.empty()) check_writable(options.json_path, "--json");
  if (options.save_path.empty()) return;
  if (!options.json_path.empty() && fs::absolute(options.json_path) == fs::absolute(options.save_path)) {
    throw Error("--json and --save name the same file '" + options.save_path + "'");
  }
  if (!cv::haveImageWriter(options.save_path)) {
    throw Error("--save '" + options.save_path + "': OpenCV cannot write this image type; use .jpg, .png or .bmp");
  }
  check_writable(options.save_path, "--save");
}

// The engine's one image input: (N, 3, H, W) float32.
const inference::TensorDesc& image_input(const inference::Engine& engine) {
  if (engine.inputs().size() != 1) {
    throw Error("detect needs a model with one image input; this one has " + std::to_string(engine.inputs().size()));
  }
  const inference::TensorDesc& input = engine.inputs()[0];
  const auto& s = input.shape;
  if (s.size() != 4 || s[1] != 3 || s[2] <= 0 || s[3] <= 0 || s[0] <= 0 || input.dtype != inference::DataType::kFloat32) {
    throw Error("model input '" + input.name + "' is " + inference::to_string(s) +
                "; detect needs a float32 image input of shape N x 3 x H x W");
  }
  return input;
}

postprocess::YoloOutputLayout output_layout(const inference::Engine& engine) {
  const auto& metadata = engine.plan().graph.metadata;
  if (const auto task = metadata.find("task"); task != metadata.end() && task->second != "detect") {
    throw Error("the model's task is '" + task->second + "'; detect supports detection models (task 'detect') only");
  }
  if (engine.outputs().empty()) throw Error("the model has no outputs");
  const inference::TensorDesc& output = engine.outputs()[0];
  return postprocess::describe_yolo_output(output.shape, postprocess::metadata_class_count(metadata), output.name);
}

std::vector<float> as_floats(const inference::Tensor& tensor) {
  if (tensor.dtype() == inference::DataType::kFloat32) {
    const auto values = tensor.values<float>();
    return {values.begin(), values.end()};
  }
  return tensor.to_float_vector();
}

void print_table(const DetectOptions& options, const cv::Mat& image, std::span<const postprocess::Detection> detections,
                 const postprocess::ClassNames& names) {
  std::printf("%s (%dx%d): %zu detection%s\n", options.image.c_str(), image.cols, image.rows, detections.size(),
              detections.size() == 1 ? "" : "s");
  if (detections.empty()) return;
  std::printf("  %3s  %-18s %6s  %8s %8s %8s %8s\n", "#", "class", "conf", "x1", "y1", "x2", "y2");
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& d = detections[i];
    const std::string label = std::to_string(d.class_id) + " " + postprocess::class_name_of(d.class_id, names);
    std::printf("  %3zu  %-18s %6.3f  %8.1f %8.1f %8.1f %8.1f\n", i, label.c_str(), static_cast<double>(d.confidence),
                static_cast<double>(d.box.x1), static_cast<double>(d.box.y1), static_cast<double>(d.box.x2),
                static_cast<double>(d.box.y2));
  }
}

void save_annotated(const DetectOptions& options, const cv::Mat& image,
                    std::span<const postprocess::Detection> detections, const postprocess::ClassNames& names) {
  cv::Mat annotated = image.clone();
  pipeline::draw_detections(annotated, detections, names);
  std::vector<unsigned char> encoded;
  const std::string extension = fs::path(options.save_path).extension().string();
  if (!cv::imencode(extension, annotated, encoded)) throw Error("--save: encoding '" + options.save_path + "' failed");
  write_atomically(options.save_path, encoded.data(), encoded.size(), "--save");
}

void run_detect(const DetectOptions& options) {
  const cv::Mat image = read_image(options.image);
  check_output_paths(options);
  postprocess::DecodeOptions decode;
  decode.conf_threshold = options.conf;
  decode.iou_threshold = options.iou;
  decode.max_det = options.max_det;

  const auto engine = load_engine(options.model);
  const inference::TensorDesc& input_desc = image_input(*engine);
  const postprocess::YoloOutputLayout layout = output_layout(*engine);
  const auto names = postprocess::class_names_from_metadata(engine->plan().graph.metadata, layout.num_classes);
  postprocess::Decoder decoder(layout, decode);

  auto start = Clock::now();
  const int height = static_cast<int>(input_desc.shape[2]);
  const int width = static_cast<int>(input_desc.shape[3]);
  pipeline::Letterboxer letterboxer(width, height);
  inference::Tensor input(input_desc.dtype, input_desc.shape);
  float* data = input.data<float>();
  const std::size_t per_image = letterboxer.tensor_size();
  const auto geometry = letterboxer.run(image, {data, per_image});
  // A fixed-batch model gets the same image in every slot; only the first is read back.
  for (std::int64_t b = 1; b < input_desc.shape[0]; ++b) std::copy_n(data, per_image, data + b * per_image);
  const double preprocess_ms = ms_since(start);

  const auto context = engine->create_context();
  start = Clock::now();
  const std::vector<inference::Tensor> outputs = context->run({input});
  const double inference_ms = ms_since(start);

  start = Clock::now();
  const std::vector<float> predictions = as_floats(outputs.at(0));
  const auto detections = decoder.decode(predictions.data(), geometry);
  const double postprocess_ms = ms_since(start);

  print_table(options, image, detections, names);
  std::printf("speed: %.1f ms preprocess, %.1f ms inference, %.1f ms postprocess (%s, %s, input %dx%d)\n",
              preprocess_ms, inference_ms, postprocess_ms, engine->plan().backend.c_str(),
              std::string(inference::to_string(engine->plan().precision)).c_str(), width, height);
  if (!options.json_path.empty()) {
    const std::string text = postprocess::detections_to_json(options.image, detections, names).dump(2) + "\n";
    write_atomically(options.json_path, text.data(), text.size(), "--json");
    std::printf("detections written to %s\n", options.json_path.c_str());
  }
  if (!options.save_path.empty()) {
    save_annotated(options, image, detections, names);
    std::printf("annotated image written to %s\n", options.save_path.c_str());
  }
}

}  // namespace

void add_detect_command(CLI::App& app) {
  auto options = std::make_shared<DetectOptions>();
  CLI::App* command = app.add_subcommand(
      "detect", "Detect objects in one image: letterbox, inference, class-aware NMS (Ultralytics semantics);\n"
                "prints a table, optionally writes JSON and an annotated image.");
  add_model_options(*command, options->model);
  command->add_option("--image", options->image, "Image to run on (jpg, png, bmp, webp, ...)")->required();
  command->add_option("--conf", options->conf, "Confidence threshold: keep boxes whose best class score is above it")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command->add_option("--iou", options->iou, "NMS IoU threshold: a box overlapping a better one of its class by more "
                                             "than this is dropped")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command->add_option("--max-det", options->max_det, "Keep at most this many detections (highest confidence first)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--json", options->json_path,
                      "Write the detections as JSON to this file: {\"image\", \"detections\": [{\"class_id\", "
                      "\"class_name\", \"confidence\", \"box_xyxy\"}]}, boxes in image pixels");
  command->add_option("--save", options->save_path, "Write the image with boxes and labels drawn to this file "
                                                    "(.jpg, .png, ...)");
  command->callback([options] { run_detect(*options); });
}

}  // namespace detstream::app
