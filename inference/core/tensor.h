// Tensor: an owning, 64-byte aligned host buffer with a type and a static shape (weights,
// constants, test inputs and outputs). TensorView / ConstTensorView: non-owning views that kernels
// read and write (arena memory in an ExecutionContext). Tensors are values: copying copies bytes.
// Not thread-safe for concurrent writes; concurrent reads are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "inference/core/data_type.h"
#include "inference/core/shape.h"

namespace detstream::inference {

struct ConstTensorView {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  const void* data = nullptr;

  template <typename T>
  const T* as() const { return static_cast<const T*>(data); }
  std::int64_t count() const { return element_count(shape); }
};

struct TensorView {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  void* data = nullptr;

  template <typename T>
  T* as() const { return static_cast<T*>(data); }
  std::int64_t count() const { return element_count(shape); }
  operator ConstTensorView() const { return {dtype, shape, data}; }
};

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled storage for a static shape.
  Tensor(DataType dtype, Shape shape);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::int64_t count() const { return element_count(shape_); }
  std::size_t byte_size() const { return bytes_; }
  bool empty() const { return bytes_ == 0 && shape_.empty() && dtype_ == DataType::kUndefined; }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <typename T>
  T* data() { return static_cast<T*>(raw()); }
  template <typename T>
  const T* data() const { return static_cast<const T*>(raw()); }
  template <typename T>
  std::span<const T> values() const { return {data<T>(), static_cast<std::size_t>(count())}; }

  TensorView view() { return {dtype_, shape_, raw()}; }
  ConstTensorView view() const { return {dtype_, shape_, raw()}; }

  // Same bytes, new shape of equal element count (Reshape of a constant).
  Tensor reshaped(Shape shape) const;
  // Reads any integer tensor (int32/int64/uint8/bool) as int64 values, e.g. shape inputs.
  std::vector<std::int64_t> to_int64_vector() const;
  // Reads any float tensor as float32 values.
  std::vector<float> to_float_vector() const;

  static Tensor from_int64(const std::vector<std::int64_t>& values, Shape shape);
  static Tensor from_float(const std::vector<float>& values, Shape shape);

 private:
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };
  DataType dtype_ = DataType::kUndefined;
  Shape shape_;
  std::size_t bytes_ = 0;
  std::unique_ptr<std::byte[], FreeDeleter> data_;
};

// Element conversions used by reference kernels and precision handling.
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);
float bfloat16_to_float(std::uint16_t b);
std::uint16_t float_to_bfloat16(float f);  // round to nearest even

}  // namespace detstream::inference
