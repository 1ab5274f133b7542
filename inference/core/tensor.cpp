#include "inference/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "inference/core/error.h"

namespace detstream::inference {

namespace {
constexpr std::size_t kAlignment = 64;

std::byte* allocate_aligned(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return static_cast<std::byte*>(p);
}
}  // namespace

void Tensor::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

Tensor::Tensor(DataType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  const std::int64_t count = element_count(shape_);
  if (count < 0) throw Error("cannot allocate a tensor of unknown shape " + to_string(shape_));
  bytes_ = static_cast<std::size_t>(count) * element_size(dtype_);
  data_.reset(allocate_aligned(bytes_));
}

Tensor::Tensor(const Tensor& other) : dtype_(other.dtype_), shape_(other.shape_), bytes_(other.bytes_) {
  data_.reset(allocate_aligned(bytes_));
  if (bytes_) std::memcpy(data_.get(), other.data_.get(), bytes_);
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) *this = Tensor(other);
  return *this;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (element_count(shape) != count()) {
    throw Error("cannot reshape " + to_string(shape_) + " to " + to_string(shape));
  }
  Tensor out(*this);
  out.shape_ = std::move(shape);
  return out;
}

std::vector<std::int64_t> Tensor::to_int64_vector() const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(count()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DataType::kInt64: out[i] = data<std::int64_t>()[i]; break;
      case DataType::kInt32: out[i] = data<std::int32_t>()[i]; break;
      case DataType::kUInt8:
      case DataType::kBool: out[i] = data<std::uint8_t>()[i]; break;
      case DataType::kInt8: out[i] = data<std::int8_t>()[i]; break;
      case DataType::kFloat32: out[i] = static_cast<std::int64_t>(data<float>()[i]); break;
      default: throw Error("cannot read a " + std::string(to_string(dtype_)) + " tensor as integers");
    }
  }
  return out;
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<float> out(static_cast<std::size_t>(count()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    switch (dtype_) {
      case DataType::kFloat32: out[i] = data<float>()[i]; break;
      case DataType::kFloat64: out[i] = static_cast<float>(data<double>()[i]); break;
      case DataType::kFloat16: out[i] = half_to_float(data<std::uint16_t>()[i]); break;
      case DataType::kBFloat16: out[i] = bfloat16_to_float(data<std::uint16_t>()[i]); break;
      case DataType::kInt64: out[i] = static_cast<float>(data<std::int64_t>()[i]); break;
      case DataType::kInt32: out[i] = static_cast<float>(data<std::int32_t>()[i]); break;
      default: throw Error("cannot read a " + std::string(to_string(dtype_)) + " tensor as floats");
    }
  }
  return out;
}

Tensor Tensor::from_int64(const std::vector<std::int64_t>& values, Shape shape) {
  Tensor t(DataType::kInt64, std::move(shape));
  if (static_cast<std::size_t>(t.count()) != values.size()) throw Error("from_int64: count mismatch");
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(std::int64_t));
  return t;
}

Tensor Tensor::from_float(const std::vector<float>& values, Shape shape) {
  Tensor t(DataType::kFloat32, std::move(shape));
  if (static_cast<std::size_t>(t.count()) != values.size()) throw Error("from_float: count mismatch");
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1f;
  std::uint32_t mantissa = h & 0x3ff;
  std::uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_half(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::int32_t exponent = static_cast<std::int32_t>((bits >> 23) & 0xff) - 127 + 15;
  std::uint32_t mantissa = bits & 0x7fffffu;
  if (((bits >> 23) & 0xff) == 0xff) return static_cast<std::uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0));
  if (exponent >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (exponent <= 0) {
    if (exponent < -10) return static_cast<std::uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    std::uint32_t half_mantissa = mantissa >> shift;
    const std::uint32_t remainder = mantissa & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (remainder > halfway || (remainder == halfway && (half_mantissa & 1))) ++half_mantissa;
    return static_cast<std::uint16_t>(sign | half_mantissa);
  }
  std::uint32_t half = sign | (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  const std::uint32_t remainder = mantissa & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (half & 1))) ++half;
  return static_cast<std::uint16_t>(half);
}

float bfloat16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_bfloat16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>(bits >> 16);
}

}  // namespace detstream::inference
