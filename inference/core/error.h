// The one exception type of the import/build/serialize boundary. Messages name what failed
// (node, op type, opset, file) and, where possible, what to do about it. Inside execution paths
// errors are returned as Status (see status.h), never thrown across threads.
#pragma once

#include <stdexcept>
#include <string>

namespace detstream::inference {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace detstream::inference
