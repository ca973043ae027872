// Measures this machine's memory read bandwidth, so that benchmarks can report the fraction of
// the bound they reach on whatever CPU they run.
#pragma once

#include <cstdint>

namespace whale {

class ThreadPool;

// Bytes per second reading a buffer of `bytes` (well beyond the caches) with every thread of
// `pool`; the best of `repeats` passes.
double measure_read_bandwidth(ThreadPool& pool, std::int64_t bytes = 1ll << 30, int repeats = 5);

}  // namespace whale
