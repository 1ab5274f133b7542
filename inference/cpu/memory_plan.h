// Activation memory planning: gives every arena slot of a Program a byte offset in one arena so
// that slots whose lifetimes (first write .. last read, over the step order) overlap never share
// bytes, while slots that are dead by then reuse them. Views keep their parent alive. Greedy
// best-fit by decreasing size, offsets 64-byte aligned. Build-time only.
#pragma once

#include "inference/cpu/program.h"

namespace detstream::inference::cpu {

// Sets Slot::offset of kArena slots and Program::arena_bytes.
void plan_memory(Program& program);

}  // namespace detstream::inference::cpu
