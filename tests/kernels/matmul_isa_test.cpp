// Every SIMD path of matmul held to its scalar twin, on each stored format, on awkward sizes
// (partial FP8 blocks, columns not a multiple of the vector width), for the decode (few
// tokens) and batched (many tokens) paths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "formats/ggml_quants.h"
#include "formats/scalar_formats.h"
#include "kernels/dot.h"
#include "kernels/matmul.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

struct Stored {
  WeightMatrix w;
  std::vector<std::uint8_t> bytes;
  std::vector<float> scales;
};

Stored make_weight(DType dtype, std::int64_t rows, std::int64_t cols, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Stored s;
  s.w.name = "test";
  s.w.dtype = dtype;
  s.w.rows = rows;
  s.w.cols = cols;
  s.bytes.resize(static_cast<std::size_t>(rows * cols) * dtype_size(dtype));
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    const float v = normal(rng);
    switch (dtype) {
      case DType::kF32:
        std::memcpy(s.bytes.data() + i * 4, &v, 4);
        break;
      case DType::kBF16: {
        const std::uint16_t h = f32_to_bf16(v);
        std::memcpy(s.bytes.data() + i * 2, &h, 2);
        break;
      }
      case DType::kF16: {
        const std::uint16_t h = f32_to_f16(v);
        std::memcpy(s.bytes.data() + i * 2, &h, 2);
        break;
      }
      default: {
        std::uint8_t b = static_cast<std::uint8_t>(rng());
        if ((b & 0x7f) == 0x7f) b ^= 1;  // no NaN codes
        s.bytes[i] = b;
      }
    }
  }
  if (dtype == DType::kF8E4M3) {
    const std::int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
    for (std::int64_t i = 0; i < sr * sc; ++i)
      s.scales.push_back(std::ldexp(1.0f + 0.1f * static_cast<float>(i), -7));
    s.w.block_scales = s.scales.data();
  }
  s.w.data = s.bytes.data();
  return s;
}

class MatmulIsaTest : public ::testing::TestWithParam<std::tuple<DType, Isa>> {};

TEST_P(MatmulIsaTest, MatchesScalarTwinOnAwkwardShapes) {
  const auto [dtype, isa] = GetParam();
  if (!isa_supported(isa)) GTEST_SKIP() << isa_name(isa) << " not supported on this host";
  for (const auto& [rows, cols] :
       std::vector<std::pair<int, int>>{{200, 300}, {7, 16}, {33, 129}, {64, 512}, {5, 3}}) {
    const Stored s = make_weight(dtype, rows, cols, static_cast<std::uint32_t>(rows * 31 + cols));
    for (const int tokens : {1, 2, 3, 4, 5, 9}) {
      std::vector<float> x(static_cast<std::size_t>(tokens * cols));
      std::mt19937 rng(tokens);
      std::normal_distribution<float> normal;
      for (auto& v : x) v = normal(rng);
      std::vector<float> want(static_cast<std::size_t>(tokens * rows)), got(want.size());
      matmul_rows_isa(Isa::kScalar, s.w, 0, rows, x.data(), tokens, want.data(), rows);
      // Split the rows at an odd boundary too, as threads may.
      const int mid = rows / 2 + 1 > rows ? rows : rows / 2 + 1;
      matmul_rows_isa(isa, s.w, 0, mid, x.data(), tokens, got.data(), rows);
      matmul_rows_isa(isa, s.w, mid, rows, x.data(), tokens, got.data() + mid, rows);
      for (std::size_t i = 0; i < want.size(); ++i) {
        // Both sum ~cols products of unit-scale values in float32, in different orders.
        const float tol =
            2e-5f * static_cast<float>(cols) * (dtype == DType::kF8E4M3 ? 16.0f : 1.0f) + 1e-5f;
        ASSERT_NEAR(got[i], want[i], tol)
            << dtype_name(dtype) << " " << isa_name(isa) << " " << rows << "x" << cols << " tokens "
            << tokens << " i " << i;
      }
    }
  }
}

TEST_P(MatmulIsaTest, RowGroupingDoesNotChangeResults) {
  // A row's result must not depend on which other rows share its SIMD group or thread.
  const auto [dtype, isa] = GetParam();
  if (!isa_supported(isa)) GTEST_SKIP();
  const Stored s = make_weight(dtype, 131, 260, 5);
  for (const int tokens : {1, 6}) {
    std::vector<float> x(static_cast<std::size_t>(tokens * 260), 0.5f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
    std::vector<float> whole(static_cast<std::size_t>(tokens * 131)), pieces(whole.size());
    matmul_rows_isa(isa, s.w, 0, 131, x.data(), tokens, whole.data(), 131);
    for (int r = 0; r < 131; ++r)
      matmul_rows_isa(isa, s.w, r, r + 1, x.data(), tokens, pieces.data() + r, 131);
    EXPECT_EQ(0, std::memcmp(whole.data(), pieces.data(), whole.size() * 4));
  }
}

TEST(MatmulTest, ThreadCountDoesNotChangeResults) {
  const Stored s = make_weight(DType::kBF16, 1000, 384, 9);
  std::vector<float> x(3 * 384);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i));
  std::vector<float> ref(3 * 1000);
  {
    ThreadPool one(1);
    matmul(s.w, x.data(), 3, ref.data(), one);
  }
  for (const int threads : {2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(ref.size());
    matmul(s.w, x.data(), 3, y.data(), pool);
    EXPECT_EQ(0, std::memcmp(y.data(), ref.data(), y.size() * 4)) << threads;
  }
}

// y[t * rows + r] is, bit for bit, the fused multiply-add chain over k in order of
// w[r * cols + k] * x[t * cols + k], starting from 0.
void expect_fma_chains(const std::vector<float>& w, const std::vector<float>& x,
                       const std::vector<float>& y, std::int64_t rows, std::int64_t cols,
                       std::int64_t tokens, const std::string& what) {
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t r = 0; r < rows; ++r) {
      float want = 0.0f;
      for (std::int64_t k = 0; k < cols; ++k)
        want = std::fma(w[static_cast<std::size_t>(r * cols + k)],
                        x[static_cast<std::size_t>(t * cols + k)], want);
      const float got = y[static_cast<std::size_t>(t * rows + r)];
      ASSERT_EQ(0, std::memcmp(&want, &got, 4)) << what << " t " << t << " r " << r;
    }
}

// Products of kPanelMinTokens tokens or more on float (or dequantized) weights: every output is
// one fused multiply-add chain over the columns in order, so every SIMD path gives exactly the
// bits of that chain computed here with std::fma, whatever rows, tokens and panels share a call.
TEST_P(MatmulIsaTest, BatchedProductIsOneFmaChainPerOutput) {
  const auto [dtype, isa] = GetParam();
  if (!isa_supported(isa)) GTEST_SKIP();
  const std::int64_t rows = 37, cols = 260;
  const Stored s = make_weight(dtype, rows, cols, 11);
  std::vector<float> w(static_cast<std::size_t>(rows * cols));
  dequantize_rows(s.w, 0, rows, w.data());
  for (const std::int64_t tokens : {kPanelMinTokens, std::int64_t{33}, std::int64_t{70}}) {
    std::vector<float> x(static_cast<std::size_t>(tokens * cols));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
    std::vector<float> y(static_cast<std::size_t>(tokens * rows), -1.0f);
    matmul_rows_isa(isa, s.w, 0, rows, x.data(), tokens, y.data(), rows);
    expect_fma_chains(w, x, y, rows, cols, tokens, "tokens " + std::to_string(tokens));
  }
}

// The same on a block format without an integer kernel (Q4_0), dequantized a few rows at a time.
TEST(MatmulIsa, BatchedQ4_0ProductIsOneFmaChainPerOutput) {
  const std::int64_t rows = 29, cols = 96, tokens = 40;
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> src(static_cast<std::size_t>(rows * cols));
  for (float& v : src) v = normal(rng);
  const std::int64_t row_bytes = dtype_row_bytes(DType::kQ4_0, cols);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(rows * row_bytes));
  for (std::int64_t r = 0; r < rows; ++r)
    quantize_row(DType::kQ4_0, src.data() + r * cols, bytes.data() + r * row_bytes, cols);
  WeightMatrix w;
  w.name = "q4_0";
  w.dtype = DType::kQ4_0;
  w.rows = rows;
  w.cols = cols;
  w.data = bytes.data();
  std::vector<float> deq(src.size());
  dequantize_rows(w, 0, rows, deq.data());
  std::vector<float> x(static_cast<std::size_t>(tokens * cols));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * static_cast<float>(i));
  for (const Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    std::vector<float> y(static_cast<std::size_t>(tokens * rows));
    matmul_rows_isa(isa, w, 0, rows, x.data(), tokens, y.data(), rows);
    expect_fma_chains(deq, x, y, rows, cols, tokens, isa_name(isa));
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, MatmulIsaTest,
                         ::testing::Combine(::testing::Values(DType::kF32, DType::kBF16,
                                                              DType::kF16, DType::kF8E4M3),
                                            ::testing::Values(Isa::kAvx2, Isa::kAvx512)),
                         [](const auto& param_info) {
                           return std::string(dtype_name(std::get<0>(param_info.param))) + "_" +
                                  isa_name(std::get<1>(param_info.param));
                         });

}  // namespace
}  // namespace whale

namespace whale {
namespace {

TEST(AxpyTest, EveryIsaMatchesScalarIncludingTails) {
  for (const Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (const int n : {0, 1, 7, 15, 16, 17, 100, 515}) {
      std::vector<float> x(static_cast<std::size_t>(n) + 1), a(x.size(), 1.0f), b(x.size(), 1.0f);
      for (int i = 0; i <= n; ++i) x[i] = static_cast<float>(i) * 0.25f - 3.0f;
      axpy_f32_isa(Isa::kScalar, 0.5f, x.data() + 1, a.data() + 1, n);  // misaligned on purpose
      axpy_f32_isa(isa, 0.5f, x.data() + 1, b.data() + 1, n);
      EXPECT_EQ(a, b) << isa_name(isa) << " n=" << n;  // one multiply-add per element: exact
    }
  }
}

}  // namespace
}  // namespace whale
