// Little-endian byte writer and bounds-checked reader for the plan format (internal to
// inference/plan). The reader never reads past its span and never trusts a count or length it
// has not checked against the bytes that remain, so hostile files fail with Error, not a crash or
// an absurd allocation. Plain value types; one thread each.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "inference/core/error.h"

namespace detstream::inference::plan_io {

static_assert(std::endian::native == std::endian::little, "the plan format is little-endian; add byte swapping");

class ByteWriter {
 public:
  template <typename T>
  void pod(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    raw(&value, sizeof value);
  }
  void raw(const void* data, std::size_t size) { bytes_.append(static_cast<const char*>(data), size); }
  // u64 length, then the bytes.
  void str(std::string_view text) {
    pod<std::uint64_t>(text.size());
    raw(text.data(), text.size());
  }
  // Zero bytes until size() is a multiple of `alignment` (offsets are absolute in the file).
  void pad_to(std::size_t alignment) { bytes_.append((alignment - bytes_.size() % alignment) % alignment, '\0'); }
  void patch_u64(std::size_t at, std::uint64_t value) { std::memcpy(bytes_.data() + at, &value, sizeof value); }
  std::size_t size() const { return bytes_.size(); }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  // `base` is the absolute file offset of data[0] (for alignment checks and messages); `where`
  // names the file and section in errors.
  ByteReader(std::string_view data, std::uint64_t base, std::string where)
      : data_(data), base_(base), where_(std::move(where)) {}

  template <typename T>
  T pod() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof value, "a field").data(), sizeof value);
    return value;
  }
  std::string_view take(std::uint64_t size, const char* what) {
    if (size > remaining()) {
      fail(std::string(what) + " of " + std::to_string(size) + " bytes runs past the end (" +
           std::to_string(remaining()) + " bytes left)");
    }
    const std::string_view out = data_.substr(pos_, static_cast<std::size_t>(size));
    pos_ += static_cast<std::size_t>(size);
    return out;
  }
  std::string str(const char* what) {
    const auto size = pod<std::uint64_t>();
    return std::string(take(size, what));
  }
  // Reads a u64 element count and checks that `count * min_item_bytes` bytes can still follow,
  // so that callers may reserve() safely.
  std::size_t count(std::size_t min_item_bytes, const char* what) {
    const auto n = pod<std::uint64_t>();
    if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
      fail(std::string(what) + " count " + std::to_string(n) + " cannot fit in the " + std::to_string(remaining()) +
           " bytes left");
    }
    return static_cast<std::size_t>(n);
  }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  std::uint64_t absolute_position() const { return base_ + pos_; }
  std::string_view data() const { return data_; }
  std::uint64_t base() const { return base_; }

  [[noreturn]] void fail(const std::string& detail) const {
    throw Error(where_ + ": malformed plan (" + detail + " at byte " + std::to_string(base_ + pos_) +
                "): the file is corrupt or was not written by this detstream; rebuild it from the ONNX model "
                "(detstream build)");
  }

 private:
  std::string_view data_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
  std::string where_;
};

}  // namespace detstream::inference::plan_io
