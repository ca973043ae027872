#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace whale {
namespace {

// Every index of [0, n) is handed out exactly once, in chunks of at most `grain` that start on
// multiples of it, to a valid thread index.
void expect_exact_cover(ThreadPool& pool, std::int64_t n, std::int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
  std::atomic<bool> bad_chunk{false};
  pool.parallel_for(n, grain, [&](std::int64_t begin, std::int64_t end, int thread) {
    if (begin >= end || end - begin > grain || begin % grain != 0 || thread < 0 ||
        thread >= pool.size())
      bad_chunk = true;
    for (std::int64_t i = begin; i < end; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
  });
  EXPECT_FALSE(bad_chunk) << "n " << n << " grain " << grain;
  for (std::int64_t i = 0; i < n; ++i)
    ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << "index " << i << " of " << n
                                                           << ", grain " << grain;
}

TEST(ThreadPool, EveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (std::int64_t n : {1, 2, 7, 16, 100, 1000, 4099})
      for (std::int64_t grain : {1, 3, 16, 64, 5000}) expect_exact_cover(pool, n, grain);
  }
}

// A thread's span is walked front to back: the chunks a thread takes from its own span come
// in increasing order (a matrix's rows stream in order); stolen chunks come from other spans.
TEST(ThreadPool, OwnSpanIsWalkedInOrder) {
  constexpr int kThreads = 3;
  constexpr std::int64_t kChunks = 60, kGrain = 4;
  ThreadPool pool(kThreads);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<std::vector<std::int64_t>> taken(kThreads);
    pool.parallel_for(kChunks * kGrain, kGrain, [&](std::int64_t begin, std::int64_t, int thread) {
      taken[static_cast<std::size_t>(thread)].push_back(begin / kGrain);
    });
    for (int t = 0; t < kThreads; ++t) {
      const std::int64_t own_begin = kChunks * t / kThreads, own_end = kChunks * (t + 1) / kThreads;
      std::int64_t last = -1;
      for (std::int64_t c : taken[static_cast<std::size_t>(t)]) {
        if (c < own_begin || c >= own_end) continue;
        EXPECT_GT(c, last) << "thread " << t;
        last = c;
      }
      EXPECT_EQ(taken[static_cast<std::size_t>(t)].front(), own_begin) << "thread " << t;
    }
  }
}

// A thread held up in its first chunk does not hold up the rest of its span: the others take
// it from the back.
TEST(ThreadPool, IdleThreadsTakeOverASlowThreadsSpan) {
  ThreadPool pool(3);
  std::atomic<int> slow_thread_chunks{0}, chunks{0};
  pool.parallel_for(300, 10, [&](std::int64_t, std::int64_t, int thread) {
    chunks.fetch_add(1);
    if (thread == 0) {
      slow_thread_chunks.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  EXPECT_EQ(chunks.load(), 30);
  // Thread 0 owns 10 chunks; in the time it spends on its first, the others finish the rest.
  EXPECT_LT(slow_thread_chunks.load(), 10);
}

// Every thread runs the first chunk of its own span (per-thread scratch grows on a job's first
// run, never later): with as many chunks as threads, each thread gets exactly one.
TEST(ThreadPool, EachThreadRunsItsFirstChunk) {
  ThreadPool pool(4);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<std::atomic<int>> by_thread(4);
    pool.parallel_for(4, 1, [&](std::int64_t begin, std::int64_t, int thread) {
      by_thread[static_cast<std::size_t>(thread)].fetch_add(1);
      EXPECT_EQ(begin, thread);
    });
    for (auto& c : by_thread) EXPECT_EQ(c.load(), 1);
  }
}

}  // namespace
}  // namespace whale
