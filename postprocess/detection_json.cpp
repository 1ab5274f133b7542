#include "postprocess/detection_json.h"

#include <charconv>

namespace detstream::postprocess {

namespace {

// The double whose shortest decimal form is the float's: 0.907107 rather than 0.9071069359779358
// (JSON numbers are doubles; widening a float directly prints its binary expansion).
double json_number(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof(text), value).ptr;
  double widened = static_cast<double>(value);
  std::from_chars(text, end, widened);  // locale-independent, unlike strtod
  return widened;
}

}  // namespace

std::string class_name_of(int class_id, const ClassNames& names) {
  if (class_id >= 0 && static_cast<std::size_t>(class_id) < names.size()) return names[static_cast<std::size_t>(class_id)];
  return fallback_class_name(class_id);
}

nlohmann::ordered_json detections_to_json(const std::string& image, std::span<const Detection> detections,
                                  const ClassNames& names) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Detection& d : detections) {
    list.push_back({{"class_id", d.class_id},
                    {"class_name", class_name_of(d.class_id, names)},
                    {"confidence", json_number(d.confidence)},
                    {"box_xyxy", {json_number(d.box.x1), json_number(d.box.y1), json_number(d.box.x2),
                                  json_number(d.box.y2)}}});
  }
  return {{"image", image}, {"detections", std::move(list)}};
}

}  // namespace detstream::postprocess
