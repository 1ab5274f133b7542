// BoundedQueue<T>: the one queue between pipeline stages.
//
// Contract
// - Capacity: at most `capacity` items are held (capacity >= 1).
// - Policy when full:
//     kBlock      the producer waits for space. Nothing is lost (files, offline jobs).
//     kDropOldest the oldest queued item is discarded to make room and counted in dropped();
//                 the producer never waits (live sources: newest frame wins, lowest latency).
// - A drop is marked on the next item delivered after it (Popped::after_drop), as GStreamer's
//   queue marks DISCONT, so downstream knows frames are missing.
// - close(): no further pushes are accepted (push returns false); items already queued are still
//   delivered; every waiter wakes. pop() returns std::nullopt once closed and empty.
//   abort(): close() and discard what is queued (forced shutdown).
// - Thread-safety: any number of producers and consumers; every member is safe to call
//   concurrently. Every wait re-checks the closed state when it wakes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace detstream::pipeline {

enum class OverflowPolicy { kBlock, kDropOldest };

template <typename T>
struct Popped {
  T value;
  bool after_drop = false;  // one or more items before this one were dropped
};

template <typename T>
class BoundedQueue {
 public:
  BoundedQueue(std::size_t capacity, OverflowPolicy policy) : capacity_(capacity), policy_(policy) {
    if (capacity_ == 0) throw std::invalid_argument("BoundedQueue capacity must be at least 1");
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Returns false (and drops `item`) when the queue is closed.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    if (policy_ == OverflowPolicy::kBlock) {
      not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    }
    if (closed_) return false;
    if (items_.size() >= capacity_) {  // kDropOldest
      items_.pop_front();
      ++dropped_;
      pending_drop_ = true;
    }
    items_.push_back(Slot{std::move(item), pending_drop_});
    pending_drop_ = false;
    high_water_ = std::max(high_water_, items_.size());
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // Waits for an item; std::nullopt once the queue is closed and drained.
  std::optional<Popped<T>> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    return take(lock);
  }

  // Like pop() but gives up after `timeout` (std::nullopt; check closed() to tell why).
  template <typename Rep, typename Period>
  std::optional<Popped<T>> pop_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex_);
    not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    return take(lock);
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // Closes and discards what is queued; returns how many items were discarded.
  std::size_t abort() {
    std::size_t discarded;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      discarded = items_.size();
      items_.clear();
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    return discarded;
  }

  bool closed() const { std::lock_guard lock(mutex_); return closed_; }
  std::size_t size() const { std::lock_guard lock(mutex_); return items_.size(); }
  std::size_t capacity() const { return capacity_; }
  OverflowPolicy policy() const { return policy_; }
  std::size_t high_water() const { std::lock_guard lock(mutex_); return high_water_; }
  std::size_t dropped() const { std::lock_guard lock(mutex_); return dropped_; }

 private:
  struct Slot {
    T value;
    bool after_drop;
  };

  std::optional<Popped<T>> take(std::unique_lock<std::mutex>& lock) {
    if (items_.empty()) return std::nullopt;
    Popped<T> out{std::move(items_.front().value), items_.front().after_drop};
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return out;
  }

  const std::size_t capacity_;
  const OverflowPolicy policy_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Slot> items_;
  bool closed_ = false;
  bool pending_drop_ = false;
  std::size_t high_water_ = 0;
  std::size_t dropped_ = 0;
};

}  // namespace detstream::pipeline
