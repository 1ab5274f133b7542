#include "inference/cuda/cuda_check.h"

#include <string>

namespace detstream::inference::cuda {

void throw_failure(const char* library, int code, const char* what, const char* call, const char* file, int line) {
  std::string where = file;
  if (const auto slash = where.rfind("inference/cuda/"); slash != std::string::npos) where = where.substr(slash);
  throw CudaError(std::string(library) + " error " + std::to_string(code) + " (" + (what ? what : "?") + ") in " + call +
                  " at " + where + ":" + std::to_string(line));
}

}  // namespace detstream::inference::cuda
