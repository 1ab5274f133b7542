#include <array>

#include "inference/core/error.h"
#include "inference/ops/op_list.h"

namespace detstream::inference {

namespace {
const OpSchema* const kAllOps[] = {
#define DETSTREAM_OP(name) &ops::k##name,
#include "inference/ops/op_names.inc"
#undef DETSTREAM_OP
};
}  // namespace

const OpSchema* find_op_schema(std::string_view op_type) {
  for (const OpSchema* schema : kAllOps) {
    if (schema->op_type == op_type) return schema;
  }
  return nullptr;
}

std::vector<std::string_view> supported_op_types() {
  std::vector<std::string_view> names;
  for (const OpSchema* schema : kAllOps) names.push_back(schema->op_type);
  return names;
}

std::vector<std::int64_t> constant_ints(const InputInfo& input, const Node& node, std::string_view what) {
  if (!input.constant) {
    throw Error(node.op_type + " '" + node.name + "' (opset " + std::to_string(node.opset) + "): its " +
                std::string(what) + " input must be known at build time (a constant or a foldable shape chain)");
  }
  return input.constant->to_int64_vector();
}

OutputInfo same_as(const InputInfo& input) { return OutputInfo{input.dtype, input.shape, nullptr}; }

}  // namespace detstream::inference
