// RankBuffer: a per-call array sized by a tensor's rank (index counters, strides) that lives on
// the stack up to kInline entries (default 8) and only goes to the heap beyond, so reference kernels can
// iterate N-D tensors without allocating in the common case. Not copyable (it points into
// itself); not shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace detstream::inference::ops {

template <typename T, std::size_t kInline = 8>
class RankBuffer {
 public:
  static constexpr std::size_t kInlineRank = kInline;

  explicit RankBuffer(std::size_t size, T fill = T{}) : size_(size) {
    if (size > kInlineRank) heap_.resize(size);
    data_ = size > kInlineRank ? heap_.data() : inline_.data();
    for (std::size_t i = 0; i < size; ++i) data_[i] = fill;
  }
  RankBuffer(const RankBuffer&) = delete;
  RankBuffer& operator=(const RankBuffer&) = delete;

  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* data() { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::array<T, kInlineRank> inline_{};
  std::vector<T> heap_;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace detstream::inference::ops
