// libFuzzer target: hostile plan files through the plan loader (framing fixed up, see
// fuzz_entries.h).
#include "fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  detstream::fuzz::load_plan_with_fixed_framing(data, size);
  return 0;
}
