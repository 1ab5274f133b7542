// Declarations of every schema the registry lists. One definition per op file in inference/ops/.
#pragma once

#include "inference/ops/op_schema.h"

namespace detstream::inference::ops {

#define DETSTREAM_OP(name) extern const OpSchema k##name;
#include "inference/ops/op_names.inc"
#undef DETSTREAM_OP

}  // namespace detstream::inference::ops
