#include "kernels/bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/cpu_features.h"
#include "util/huge_pages.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

// Four independent accumulators, two cache lines per iteration: enough loads in flight that
// the memory system, not the loop, is the limit.
__attribute__((target("avx2"))) std::uint64_t read_avx2(const std::uint64_t* p, std::int64_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (std::int64_t i = 0; i + 16 <= n; i += 16) {
    const auto* v = reinterpret_cast<const __m256i*>(p + i);
    a = _mm256_xor_si256(a, _mm256_load_si256(v));
    b = _mm256_xor_si256(b, _mm256_load_si256(v + 1));
    c = _mm256_xor_si256(c, _mm256_load_si256(v + 2));
    d = _mm256_xor_si256(d, _mm256_load_si256(v + 3));
  }
  a = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
  return static_cast<std::uint64_t>(_mm256_extract_epi64(a, 0) ^ _mm256_extract_epi64(a, 3));
}

__attribute__((target("avx512f"))) std::uint64_t read_avx512(const std::uint64_t* p,
                                                             std::int64_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (std::int64_t i = 0; i + 32 <= n; i += 32) {
    const auto* v = reinterpret_cast<const __m512i*>(p + i);
    a = _mm512_xor_si512(a, _mm512_load_si512(v));
    b = _mm512_xor_si512(b, _mm512_load_si512(v + 1));
    c = _mm512_xor_si512(c, _mm512_load_si512(v + 2));
    d = _mm512_xor_si512(d, _mm512_load_si512(v + 3));
  }
  a = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, a);
  return lanes[0] ^ lanes[7];
}

std::uint64_t read_scalar(const std::uint64_t* p, std::int64_t n) {
  std::uint64_t x = 0;
  for (std::int64_t i = 0; i < n; ++i) x ^= p[i];
  return x;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, std::int64_t bytes, int repeats) {
  const std::int64_t words = bytes / 8;
  // In 2 MiB pages where the kernel allows, as the weights are mapped (4 KiB pages would
  // measure the TLB as well); written once so that pages are really backed.
  const LargeBuffer storage(static_cast<std::size_t>(words) * 8);
  auto* base = storage.as<std::uint64_t>();
  pool.parallel_for(words, 1 << 20, [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t i = b; i < e; ++i)
      base[i] = static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ull;
  });
  const CpuFeatures& cpu = cpu_features();
  double best = 0.0;
  std::vector<std::uint64_t> sink(static_cast<std::size_t>(pool.size()) * 8);
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t chunk = 1 << 18;  // 2 MiB of words, claimed dynamically by the threads
    const std::int64_t n = words / chunk * chunk;  // whole chunks: every loop reads all it is given
    pool.parallel_for(n, chunk, [&](std::int64_t b, std::int64_t e, int t) {
      const std::uint64_t* p = base + b;
      sink[static_cast<std::size_t>(t) * 8] += cpu.avx512 ? read_avx512(p, e - b)
                                               : cpu.avx2 ? read_avx2(p, e - b)
                                                          : read_scalar(p, e - b);
    });
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(n * 8) / s);
  }
  volatile std::uint64_t keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace whale
