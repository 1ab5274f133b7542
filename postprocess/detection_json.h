// The JSON form of one image's detections, as `detstream detect --json` writes it:
//   {"image": "...", "detections": [{"class_id": 0, "class_name": "person", "confidence": 0.91,
//                                    "box_xyxy": [x1, y1, x2, y2]}, ...]}
// Keys keep this order (ordered_json). Boxes in source-image pixels. Class ids beyond `names` get
// the fallback name. Pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <span>
#include <string>

#include "postprocess/class_names.h"
#include "postprocess/detection.h"

namespace detstream::postprocess {

nlohmann::ordered_json detections_to_json(const std::string& image, std::span<const Detection> detections,
                                  const ClassNames& names);

// The name of `class_id`, or its fallback when `names` does not cover it.
std::string class_name_of(int class_id, const ClassNames& names);

}  // namespace detstream::postprocess
