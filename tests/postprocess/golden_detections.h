// Test support: reading /work/shared/golden/<image>_<tag>.json (letterbox block, raw output shape,
// reference detections) and comparing detections against it with the project's parity rule:
// same count, and every reference detection matched one-to-one by a detection of the same class
// with box IoU >= 0.98 and |confidence difference| <= 0.01. Header-only; used by the postprocess
// and app suites.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "postprocess/detection.h"

namespace detstream::testing {

struct GoldenCase {
  nlohmann::json json;
  std::vector<postprocess::Detection> detections;
  std::vector<std::int64_t> output_shape;  // from the "output" description, e.g. 1x84x8400
  int source_width = 0;                    // resized / scale (the JSON does not store the image size)
  int source_height = 0;
};

inline std::vector<std::int64_t> parse_shape_in(const std::string& text) {
  // "... (float32, 1x84x8400)": the last token before ')'.
  const auto close = text.rfind(')');
  const auto open = text.rfind(' ', close);
  std::vector<std::int64_t> dims;
  std::stringstream in(text.substr(open + 1, close - open - 1));
  std::string dim;
  while (std::getline(in, dim, 'x')) dims.push_back(std::stoll(dim));
  return dims;
}

inline GoldenCase read_golden(const std::string& path) {
  std::ifstream file(path);
  GoldenCase c;
  c.json = nlohmann::json::parse(file);
  for (const auto& d : c.json.at("detections")) {
    const auto& b = d.at("box_xyxy");
    c.detections.push_back({d.at("class_id").get<int>(), d.at("confidence").get<float>(),
                            {b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>()}});
  }
  c.output_shape = parse_shape_in(c.json.at("output").get<std::string>());
  const auto& lb = c.json.at("letterbox");
  const double scale = lb.at("scale").get<double>();
  c.source_width = static_cast<int>(std::lround(lb.at("resized")[0].get<double>() / scale));
  c.source_height = static_cast<int>(std::lround(lb.at("resized")[1].get<double>() / scale));
  return c;
}

struct ParityStats {
  float min_iou = 1.0f;
  float max_conf_diff = 0.0f;
};

// Asserts the parity rule; returns the worst IoU and confidence difference seen. min_iou: 0.98
// for fp32 paths, 0.97 where the issue allows fp16 engines that much.
inline ParityStats expect_parity(const std::vector<postprocess::Detection>& actual,
                                 const std::vector<postprocess::Detection>& expected, const std::string& label,
                                 float min_iou = 0.98f) {
  ParityStats stats;
  EXPECT_EQ(actual.size(), expected.size()) << label << ": detection count";
  std::vector<bool> used(actual.size(), false);
  for (std::size_t e = 0; e < expected.size(); ++e) {
    int best = -1;
    float best_iou = -1.0f;
    for (std::size_t a = 0; a < actual.size(); ++a) {
      if (used[a] || actual[a].class_id != expected[e].class_id) continue;
      const float v = postprocess::iou(actual[a].box, expected[e].box);
      if (v > best_iou) best_iou = v, best = static_cast<int>(a);
    }
    if (best < 0) {
      ADD_FAILURE() << label << ": no detection of class " << expected[e].class_id << " for reference #" << e;
      stats.min_iou = 0.0f;
      continue;
    }
    used[static_cast<std::size_t>(best)] = true;
    const float conf_diff = std::fabs(actual[static_cast<std::size_t>(best)].confidence - expected[e].confidence);
    EXPECT_GE(best_iou, min_iou) << label << ": reference #" << e << " class " << expected[e].class_id;
    EXPECT_LE(conf_diff, 0.01f) << label << ": reference #" << e << " class " << expected[e].class_id;
    stats.min_iou = std::min(stats.min_iou, best_iou);
    stats.max_conf_diff = std::max(stats.max_conf_diff, conf_diff);
  }
  return stats;
}

}  // namespace detstream::testing
