// Memory descriptors of the cpu backend: maps engine types and shapes to oneDNN descriptors and
// answers layout questions (is this plain row-major? the same layout for other dimensions?).
// Pure functions; thread-safe.
#pragma once

#include <optional>

#include <dnnl.hpp>

#include "inference/core/data_type.h"
#include "inference/core/shape.h"

namespace detstream::inference::cpu {

// nullopt for types oneDNN cannot hold (int64, bool, float64).
std::optional<dnnl::memory::data_type> to_dnnl_type(DataType type);
DataType from_dnnl_type(dnnl::memory::data_type type);
// A scalar (rank 0) becomes {1}.
dnnl::memory::dims to_dims(const Shape& shape);
// Row-major (ONNX) layout.
dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type type);
bool is_plain(const dnnl::memory::desc& desc);
// The layout of `like` (nchw, nhwc, nChw16c, ...) applied to `dims`/`type`; falls back to plain
// when `like` is not one of the common 4-D tags.
dnnl::memory::desc same_layout(const dnnl::memory::desc& like, const dnnl::memory::dims& dims,
                               dnnl::memory::data_type type);
// `desc` with its element type replaced, strides and blocking kept.
dnnl::memory::desc retyped(const dnnl::memory::desc& desc, dnnl::memory::data_type type);
// "nhwc:f32", "nChw16c:bf16", "plain:f32", "blocked:f32": for inspect and error messages.
std::string describe_layout(const dnnl::memory::desc& desc);

}  // namespace detstream::inference::cpu
