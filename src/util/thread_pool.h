// A persistent pool of worker threads. parallel_for splits [0, n) into chunks that threads
// claim; each index is processed by exactly one thread with the same code, so results never
// depend on the number of threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace whale {

class ThreadPool {
 public:
  // `threads` counts the calling thread: ThreadPool(1) runs everything inline. Throws
  // whale::Error when the system cannot start that many threads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end, thread_index) over disjoint chunks covering [0, n), chunk at most
  // `grain` indices long. Blocks until all are done. Not reentrant. Thread i owns the i-th
  // contiguous span of chunks and walks it front to back (a matrix's rows then stream from
  // memory in order, which the hardware prefetchers need: chunks dealt out in turn between
  // threads halve the read bandwidth of a 256-row product); a thread done with its span takes
  // chunks from the back of the others'. `fn` is called by
  // reference, never copied, so a job allocates nothing however much it captures.
  template <typename Fn>
  void parallel_for(std::int64_t n, std::int64_t grain, Fn&& fn) {
    run({&fn,
         [](const void* f, std::int64_t b, std::int64_t e, int t) {
           (*static_cast<std::remove_reference_t<Fn>*>(const_cast<void*>(f)))(b, e, t);
         }},
        n, grain);
  }

  // Default thread count: the CPUs this process may run on.
  static int default_threads();

 private:
  void stop();  // wakes and joins every worker
  void worker_loop(int index);
  void run_chunks(int thread_index);

  // A borrowed callable: the caller's object and how to call it.
  struct Job {
    const void* fn;
    void (*call)(const void* fn, std::int64_t begin, std::int64_t end, int thread);
  };
  void run(Job job, std::int64_t n, std::int64_t grain);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // Workers spin on generation_ for a short while before sleeping on wake_: a decode step
  // issues hundreds of small jobs, and a sleeping thread takes tens of microseconds to wake.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stopping_{false};

  // The current job, published under mutex_ before generation_ changes.
  Job job_{};
  std::int64_t job_n_ = 0;
  std::int64_t job_grain_ = 1;
  // Chunk indices [front, back) of each thread's span not yet taken, packed as
  // front | back << 32 so that the owner (front) and thieves (back) claim with one CAS.
  struct alignas(64) Span {
    std::atomic<std::uint64_t> range{0};
  };
  std::unique_ptr<Span[]> spans_;
  std::int64_t job_chunks_ = 0;
  std::atomic<int> busy_{0};
  // Claims the next chunk of `thread`'s span: its owner from the front, others from the back.
  bool take(int thread, bool front, std::int64_t* chunk);
  std::int64_t span_begin(int thread) const { return job_chunks_ * thread / size(); }
};

}  // namespace whale
