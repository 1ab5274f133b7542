// The "cpu" backend: oneDNN primitives for the convolutional body, reference kernels for the rest
// (see node_support.h for which is which). Plans carry "cpu/<isa>/onednn-<version>/<precision>"
// so that a plan built for another ISA or oneDNN version is refused. fp32 everywhere; bf16 where
// the CPU has AVX512-BF16 or AMX. Stateless; thread-safe.
#pragma once

#include "inference/backend.h"

namespace detstream::inference {

const Backend& cpu_backend();

}  // namespace detstream::inference
