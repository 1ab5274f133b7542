#include "inference/cpu/layout.h"

#include <array>
#include <utility>

namespace detstream::inference::cpu {

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

tag plain_tag(std::size_t rank) {
  switch (rank) {
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    case 6: return tag::abcdef;
    default: return tag::undef;
  }
}

constexpr std::array<std::pair<tag, const char*>, 6> kFourDimTags{{
    {tag::nchw, "nchw"},
    {tag::nhwc, "nhwc"},
    {tag::nChw16c, "nChw16c"},
    {tag::nChw8c, "nChw8c"},
    {tag::nChw4c, "nChw4c"},
    {tag::chwn, "chwn"},
}};

std::optional<std::pair<tag, const char*>> four_dim_tag(const dnnl::memory::desc& desc) {
  if (desc.dims().size() != 4) return std::nullopt;
  for (const auto& candidate : kFourDimTags) {
    if (desc == dnnl::memory::desc(desc.dims(), desc.data_type(), candidate.first)) return candidate;
  }
  return std::nullopt;
}

const char* type_name(dt type) {
  switch (type) {
    case dt::f32: return "f32";
    case dt::bf16: return "bf16";
    case dt::f16: return "f16";
    case dt::s32: return "s32";
    case dt::s8: return "s8";
    case dt::u8: return "u8";
    default: return "?";
  }
}

}  // namespace

std::optional<dnnl::memory::data_type> to_dnnl_type(DataType type) {
  switch (type) {
    case DataType::kFloat32: return dt::f32;
    case DataType::kBFloat16: return dt::bf16;
    case DataType::kFloat16: return dt::f16;
    case DataType::kInt32: return dt::s32;
    case DataType::kInt8: return dt::s8;
    case DataType::kUInt8: return dt::u8;
    default: return std::nullopt;
  }
}

DataType from_dnnl_type(dnnl::memory::data_type type) {
  switch (type) {
    case dt::f32: return DataType::kFloat32;
    case dt::bf16: return DataType::kBFloat16;
    case dt::f16: return DataType::kFloat16;
    case dt::s32: return DataType::kInt32;
    case dt::s8: return DataType::kInt8;
    case dt::u8: return DataType::kUInt8;
    default: return DataType::kUndefined;
  }
}

dnnl::memory::dims to_dims(const Shape& shape) {
  if (shape.empty()) return {1};
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type type) {
  const dnnl::memory::dims dims = to_dims(shape);
  const tag t = plain_tag(dims.size());
  if (t != tag::undef) return dnnl::memory::desc(dims, type, t);
  dnnl::memory::dims strides(dims.size(), 1);
  for (std::size_t i = dims.size() - 1; i-- > 0;) strides[i] = strides[i + 1] * dims[i + 1];
  return dnnl::memory::desc(dims, type, strides);
}

bool is_plain(const dnnl::memory::desc& desc) { return desc == plain_desc(Shape(desc.dims()), desc.data_type()); }

dnnl::memory::desc same_layout(const dnnl::memory::desc& like, const dnnl::memory::dims& dims,
                               dnnl::memory::data_type type) {
  if (dims.size() == 4) {
    if (const auto found = four_dim_tag(like)) return dnnl::memory::desc(dims, type, found->first);
  }
  return plain_desc(Shape(dims.begin(), dims.end()), type);
}

dnnl::memory::desc retyped(const dnnl::memory::desc& desc, dnnl::memory::data_type type) {
  if (desc.data_type() == type) return desc;
  dnnl_memory_desc_t copy = desc.data;
  copy.data_type = dnnl::memory::convert_to_c(type);
  return dnnl::memory::desc(copy);
}

std::string describe_layout(const dnnl::memory::desc& desc) {
  std::string layout = "blocked";
  if (is_plain(desc)) {
    layout = "plain";
  } else if (const auto found = four_dim_tag(desc)) {
    layout = found->second;
  }
  return layout + ":" + type_name(desc.data_type());
}

}  // namespace detstream::inference::cpu
