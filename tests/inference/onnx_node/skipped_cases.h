// The reviewed list of ONNX node test cases that use only supported op types but cannot pass,
// each with the reason. A listed case that starts passing fails the suite (remove it from the
// list); a failing case that is not listed fails it too. Cases using op types the engine does not
// implement are skipped automatically and need no entry.
#pragma once

#include <map>
#include <string_view>

namespace detstream::inference::onnx_node {

// Case directory name ("test_cast_FLOAT_to_STRING") -> reason.
const std::map<std::string_view, std::string_view>& skipped_cases();

}  // namespace detstream::inference::onnx_node
