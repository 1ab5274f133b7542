// libFuzzer target: hostile ONNX files through the importer and the builder's passes.
#include "fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  detstream::fuzz::import_and_build_onnx(data, size);
  return 0;
}
