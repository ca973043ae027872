#include "util/thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "util/error.h"

namespace whale {

ThreadPool::ThreadPool(int threads) {
  const int workers = std::max(threads, 1) - 1;
  spans_ = std::make_unique<Span[]>(static_cast<std::size_t>(workers + 1));
  try {
    workers_.reserve(workers);
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { worker_loop(i + 1); });
  } catch (const std::exception& e) {
    // The destructor does not run for a half-built pool, and destroying a joinable
    // std::thread terminates the process: stop the workers already started.
    const std::size_t started = workers_.size() + 1;
    stop();
    fail("cannot start {} threads ({} started): {}", threads, started, e.what());
  }
}

ThreadPool::~ThreadPool() {
  stop();
}

void ThreadPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

int ThreadPool::default_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

constexpr int kWaitPolls = 4096;  // pauses before the calling thread yields (tens of microseconds)

constexpr std::uint64_t pack(std::int64_t front, std::int64_t back) {
  return static_cast<std::uint64_t>(front) | static_cast<std::uint64_t>(back) << 32;
}

}  // namespace

bool ThreadPool::take(int thread, bool front, std::int64_t* chunk) {
  std::atomic<std::uint64_t>& range = spans_[static_cast<std::size_t>(thread)].range;
  std::uint64_t r = range.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t lo = static_cast<std::int64_t>(r & 0xffffffffu), hi = r >> 32;
    if (lo >= hi) return false;
    const std::uint64_t rest = front ? pack(lo + 1, hi) : pack(lo, hi - 1);
    if (range.compare_exchange_weak(r, rest, std::memory_order_relaxed)) {
      *chunk = front ? lo : hi - 1;
      return true;
    }
  }
}

void ThreadPool::run_chunks(int thread_index) {
  const auto run_chunk = [&](std::int64_t c) {
    const std::int64_t begin = c * job_grain_;
    job_.call(job_.fn, begin, std::min(begin + job_grain_, job_n_), thread_index);
  };
  // The first chunk of a thread's span is never stolen: every thread takes part in every job
  // that has a chunk for it, so the per-thread scratch a job grows is grown on its first run,
  // not at whatever later step a slow-to-wake thread first wins a chunk (decode must not
  // allocate once warm).
  const std::int64_t first = span_begin(thread_index);
  if (first < span_begin(thread_index + 1)) run_chunk(first);
  std::int64_t c = 0;
  while (take(thread_index, true, &c)) run_chunk(c);
  const int threads = size();
  for (int k = 1; k < threads; ++k) {
    const int victim = (thread_index + k) % threads;
    while (take(victim, false, &c)) run_chunk(c);
  }
}

void ThreadPool::worker_loop(int index) {
  std::uint64_t seen = 0;
  constexpr auto kSpin = std::chrono::microseconds(50);
  for (;;) {
    // Spin first (cheap wake-up while jobs arrive back to back), then sleep.
    auto spin_start = std::chrono::steady_clock::now();
    int polls = 0;
    while (generation_.load() == seen) {
      _mm_pause();
      if (++polls % 64 == 0 && std::chrono::steady_clock::now() - spin_start > kSpin) {
        std::unique_lock lock(mutex_);
        // seq_cst on sleeping_ and generation_ (here and in parallel_for): either the producer
        // sees this thread asleep and notifies, or this thread sees the new generation.
        sleeping_.fetch_add(1);
        wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
        sleeping_.fetch_sub(1);
        if (stopping_.load()) return;
        spin_start = std::chrono::steady_clock::now();
      }
    }
    if (stopping_.load()) return;
    seen = generation_.load();
    run_chunks(index);
    busy_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(Job job, std::int64_t n, std::int64_t grain) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  if (workers_.empty() || n <= grain) {
    for (std::int64_t begin = 0; begin < n; begin += grain)
      job.call(job.fn, begin, std::min(begin + grain, n), 0);
    return;
  }
  job_ = job;
  job_n_ = n;
  job_grain_ = grain;
  job_chunks_ = (n + grain - 1) / grain;
  if (job_chunks_ >= (std::int64_t{1} << 31)) {  // the spans pack chunk indices in 32 bits
    job_grain_ = grain = (n + (std::int64_t{1} << 30) - 1) >> 30;
    job_chunks_ = (n + grain - 1) / grain;
  }
  for (int t = 0; t < size(); ++t) {
    const std::int64_t begin = span_begin(t), end = span_begin(t + 1);
    spans_[static_cast<std::size_t>(t)].range.store(pack(std::min(begin + 1, end), end),
                                                    std::memory_order_relaxed);
  }
  busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1);  // publishes the job fields above
  if (sleeping_.load() > 0) {
    std::lock_guard lock(mutex_);  // a worker between its check and wait() still sees the change
    wake_.notify_all();
  }
  run_chunks(0);
  // The workers' last chunks end within microseconds when the split is even: spin, and yield
  // the core only if they take longer (a system call costs about as much on a virtual machine).
  for (int polls = 0; busy_.load(std::memory_order_acquire) != 0; ++polls) {
    if (polls < kWaitPolls)
      _mm_pause();
    else
      std::this_thread::yield();
  }
}

}  // namespace whale
