// The decode loop allocates no memory: after a warm-up step, each further step (forward pass
// over one token, logits, sampling with every filter and penalty on) makes no call to the global
// allocator on any thread. This binary replaces operator new to count the calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "model/load.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "util/thread_pool.h"

// GCC sees free() of memory from operator new in these replacements; they pair up correctly.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace whale {
namespace {

long decode_allocations(const std::string& folder, int threads, CacheDType cache) {
  auto model = load_model(folder);
  ThreadPool pool(threads);
  Session session(*model, pool, 128, cache);
  SamplingParams params;
  params.temperature = 0.8;
  params.top_k = 40;
  params.top_p = 0.9;
  params.min_p = 0.01;
  params.repetition_penalty = 1.1;
  params.frequency_penalty = 0.2;
  params.presence_penalty = 0.1;
  params.seed = 7;
  Sampler sampler(params, model->summary().vocab_size);
  std::vector<std::int32_t> history = {1, 20, 300, 42, 17};
  history.reserve(128);
  session.set_tokens(history);
  // Warm-up: buffers reach their decode sizes.
  for (int i = 0; i < 2; ++i) {
    history.push_back(sampler.sample(session.logits(), history));
    session.append(history.back());
  }
  const long before = g_allocations.load();
  for (int i = 0; i < 16; ++i) {
    history.push_back(sampler.sample(session.logits(), history));
    session.append(history.back());
  }
  return g_allocations.load() - before;
}

TEST(DecodeAllocations, NoneAfterWarmUp) {
  const std::string data = WHALE_TEST_DATA;
  for (const char* name : {"v3-tiny-fp8", "v2-tiny", "v2-lite-tiny", "v3-tiny-bf16"}) {
    EXPECT_EQ(decode_allocations(data + "/golden/" + name, 1, CacheDType::kF32), 0) << name;
    EXPECT_EQ(decode_allocations(data + "/golden/" + name, 2, CacheDType::kBF16), 0) << name;
  }
}

// The counter does count: a step that must allocate is seen.
TEST(DecodeAllocations, CounterSeesAllocations) {
  const long before = g_allocations.load();
  auto* v = new std::vector<int>(100);
  delete v;
  EXPECT_GE(g_allocations.load() - before, 2);
}

}  // namespace
}  // namespace whale
