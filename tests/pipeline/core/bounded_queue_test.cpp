#include "pipeline/core/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

namespace detstream::pipeline {
namespace {

using namespace std::chrono_literals;

TEST(BoundedQueue, RejectsZeroCapacity) {
  EXPECT_THROW(BoundedQueue<int>(0, OverflowPolicy::kBlock), std::invalid_argument);
}

TEST(BoundedQueue, DeliversInOrder) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push(i));
  for (int i = 0; i < 4; ++i) {
    auto item = q.pop();
    ASSERT_TRUE(item);
    EXPECT_EQ(item->value, i);
    EXPECT_FALSE(item->after_drop);
  }
  EXPECT_EQ(q.high_water(), 4u);
}

TEST(BoundedQueue, BlockPolicyWaitsForSpaceAndLosesNothing) {
  BoundedQueue<int> q(2, OverflowPolicy::kBlock);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.push(2));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.push(3);
    pushed = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(pushed.load()) << "push into a full blocking queue must wait";
  EXPECT_EQ(q.pop()->value, 1);
  producer.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(q.pop()->value, 2);
  EXPECT_EQ(q.pop()->value, 3);
  EXPECT_EQ(q.dropped(), 0u);
}

TEST(BoundedQueue, DropOldestEvictsAndMarksTheNextItem) {
  BoundedQueue<int> q(2, OverflowPolicy::kDropOldest);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(q.push(i));  // never blocks
  EXPECT_EQ(q.dropped(), 3u);
  auto a = q.pop();
  auto b = q.pop();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->value, 4);
  EXPECT_EQ(b->value, 5);
  // Pushing 4 evicted 2 and pushing 5 evicted 3: both survivors follow a drop.
  EXPECT_TRUE(a->after_drop);
  EXPECT_TRUE(b->after_drop);
  ASSERT_TRUE(q.push(6));
  EXPECT_FALSE(q.pop()->after_drop) << "no drop happened before 6";
}

TEST(BoundedQueue, CloseDrainsThenEnds) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  q.push(1);
  q.push(2);
  q.close();
  EXPECT_FALSE(q.push(3));
  EXPECT_EQ(q.pop()->value, 1);
  EXPECT_EQ(q.pop()->value, 2);
  EXPECT_FALSE(q.pop().has_value());
}

TEST(BoundedQueue, CloseWakesBlockedConsumersAndProducers) {
  BoundedQueue<int> empty(1, OverflowPolicy::kBlock);
  BoundedQueue<int> full(1, OverflowPolicy::kBlock);
  full.push(0);
  std::atomic<int> woke{0};
  std::thread consumer([&] { if (!empty.pop()) ++woke; });
  std::thread producer([&] { if (!full.push(1)) ++woke; });
  std::this_thread::sleep_for(30ms);
  empty.close();
  full.close();
  consumer.join();
  producer.join();
  EXPECT_EQ(woke.load(), 2);
}

TEST(BoundedQueue, AbortDiscardsQueuedItems) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  q.push(1);
  q.push(2);
  EXPECT_EQ(q.abort(), 2u);
  EXPECT_FALSE(q.pop().has_value());
}

TEST(BoundedQueue, PopForTimesOut) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(q.pop_for(20ms).has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 15ms);
  EXPECT_FALSE(q.closed());
}

TEST(BoundedQueue, ManyProducersManyConsumersBlockingLosesNothing) {
  constexpr int kProducers = 4, kConsumers = 3, kPerProducer = 5000;
  BoundedQueue<int> q(8, OverflowPolicy::kBlock);
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&] {
      while (auto item = q.pop()) {
        sum += item->value;
        ++count;
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) q.push(p * kPerProducer + i);
    });
  }
  for (auto& t : producers) t.join();
  q.close();
  for (auto& t : consumers) t.join();
  const long long n = kProducers * kPerProducer;
  EXPECT_EQ(count.load(), n);
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
  EXPECT_LE(q.high_water(), 8u);
}

TEST(BoundedQueue, ManyProducersDropOldestAccountsForEveryItem) {
  constexpr int kProducers = 4, kPerProducer = 5000;
  BoundedQueue<int> q(4, OverflowPolicy::kDropOldest);
  std::atomic<int> received{0};
  std::thread consumer([&] {
    while (auto item = q.pop()) ++received;
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPerProducer; ++i) q.push(i);
    });
  }
  for (auto& t : producers) t.join();
  q.close();
  consumer.join();
  EXPECT_EQ(static_cast<std::size_t>(received.load()) + q.dropped(), static_cast<std::size_t>(kProducers * kPerProducer));
}

}  // namespace
}  // namespace detstream::pipeline
