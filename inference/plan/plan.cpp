#include "inference/plan/plan.h"

#include "inference/core/error.h"

namespace detstream::inference {

std::string_view to_string(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kFp16: return "fp16";
  }
  return "fp32";
}

Precision parse_precision(std::string_view text) {
  if (text == "fp32") return Precision::kFp32;
  if (text == "bf16") return Precision::kBf16;
  if (text == "fp16") return Precision::kFp16;
  throw Error("unknown precision '" + std::string(text) + "' (expected fp32, bf16 or fp16)");
}

}  // namespace detstream::inference
