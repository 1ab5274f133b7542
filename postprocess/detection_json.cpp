#include "postprocess/detection_json.h"

namespace detstream::postprocess {

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
                    {"confidence", d.confidence},
                    {"box_xyxy", {d.box.x1, d.box.y1, d.box.x2, d.box.y2}}});
  }
  return {{"image", image}, {"detections", std::move(list)}};
}

}  // namespace detstream::postprocess
