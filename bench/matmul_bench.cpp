// Weight-format matmul microbenchmarks on one thread: decode GEMV (1 token) and a 64-token
// prefill product for BF16, Q8_0, Q4_K and Q6_K. "bytes_per_second" counts weight bytes read
// (WeightMatrix::bytes per product), the figure to hold against the machine's bandwidth. Rates
// are per CPU second (Google Benchmark's default): on a shared machine that is the better
// estimate of an uncontended core; compare real_time when the machine is quiet.
// WHALE_ISA=scalar|avx2|avx512 forces a path. Run: build/bench/matmul_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "formats/ggml_quants.h"
#include "formats/scalar_formats.h"
#include "kernels/bandwidth.h"
#include "kernels/matmul.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

struct Weight {
  std::vector<std::uint8_t> bytes;
  WeightMatrix w;
};

// Built once per (dtype, shape): quantizing a 129280 x 1536 head takes a while.
const WeightMatrix& weight(DType dtype, std::int64_t rows, std::int64_t cols) {
  static std::map<std::tuple<int, std::int64_t, std::int64_t>, Weight> cache;
  auto& entry = cache[{static_cast<int>(dtype), rows, cols}];
  if (entry.w.data == nullptr) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    const std::int64_t row_bytes = dtype_row_bytes(dtype, cols);
    entry.bytes.resize(static_cast<std::size_t>(rows * row_bytes));
    std::vector<float> row(static_cast<std::size_t>(cols));
    // A few distinct random rows repeated: the values do not matter for speed.
    std::vector<std::uint8_t> samples(static_cast<std::size_t>(16 * row_bytes));
    for (int s = 0; s < 16; ++s) {
      for (auto& v : row) v = normal(rng);
      std::uint8_t* dst = samples.data() + s * row_bytes;
      if (dtype == DType::kBF16) {
        for (std::int64_t c = 0; c < cols; ++c) {
          const std::uint16_t h = f32_to_bf16(row[c]);
          std::memcpy(dst + 2 * c, &h, 2);
        }
      } else {
        quantize_row(dtype, row.data(), dst, cols);
      }
    }
    for (std::int64_t r = 0; r < rows; ++r)
      std::memcpy(entry.bytes.data() + r * row_bytes, samples.data() + (r % 16) * row_bytes,
                  static_cast<std::size_t>(row_bytes));
    entry.w.name = "bench";
    entry.w.dtype = dtype;
    entry.w.rows = rows;
    entry.w.cols = cols;
    entry.w.data = entry.bytes.data();
  }
  return entry.w;
}

void BM_Matmul(benchmark::State& state, DType dtype, std::int64_t rows, std::int64_t cols,
               std::int64_t tokens) {
  const WeightMatrix& w = weight(dtype, rows, cols);
  std::vector<float> x(static_cast<std::size_t>(tokens * cols)),
      y(static_cast<std::size_t>(tokens * rows));
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  for (auto& v : x) v = normal(rng);
  ThreadPool pool(1);
  for (auto _ : state) {
    matmul(w, x.data(), tokens, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * w.bytes());
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens),
                                               benchmark::Counter::kIsRate);
  state.SetLabel(isa_name(active_isa()));
}

// The denominator: this machine's single-thread read bandwidth, measured now (best of 3 wall-
// clock passes over 512 MiB), reported as bytes_per_second.
void BM_ReadBandwidth(benchmark::State& state) {
  ThreadPool pool(1);
  double best = 0.0;
  for (auto _ : state) best = std::max(best, measure_read_bandwidth(pool, 512ll << 20, 3));
  state.counters["bytes_per_second"] = best;
  state.SetLabel("read, 1 thread");
}

void register_all() {
  benchmark::RegisterBenchmark("bandwidth/read", BM_ReadBandwidth)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  const std::pair<DType, const char*> formats[] = {{DType::kBF16, "BF16"},
                                                   {DType::kQ8_0, "Q8_0"},
                                                   {DType::kQ4_K, "Q4_K"},
                                                   {DType::kQ6_K, "Q6_K"}};
  struct Shape {
    std::int64_t rows, cols, tokens;
    const char* name;
  };
  const Shape shapes[] = {{4096, 4096, 1, "decode/4096x4096"},
                          {129280, 1536, 1, "decode/129280x1536"},
                          {4096, 4096, 64, "prefill64/4096x4096"}};
  for (const auto& s : shapes)
    for (const auto& [dtype, name] : formats)
      benchmark::RegisterBenchmark(
          (std::string(s.name) + "/" + name).c_str(),
          [=](benchmark::State& st) { BM_Matmul(st, dtype, s.rows, s.cols, s.tokens); })
          ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace whale

int main(int argc, char** argv) {
  whale::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
