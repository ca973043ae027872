// matmul over every stored weight format against a naive double-precision product, FP8 block
// scales with partial blocks, and results independent of the thread count.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "formats/scalar_formats.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

// A weight matrix with its own storage, and the exact float value of every element.
struct OwnedWeight {
  std::vector<std::uint8_t> bytes;
  std::vector<float> scales;
  std::vector<double> value;  // [rows, cols] the true weight, in double
  WeightMatrix w;
};

OwnedWeight make_weight(DType dtype, std::int64_t rows, std::int64_t cols, std::uint32_t seed,
                        std::int64_t block_rows = 128, std::int64_t block_cols = 128) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  OwnedWeight o;
  o.value.resize(static_cast<std::size_t>(rows * cols));
  o.bytes.resize(static_cast<std::size_t>(rows * cols) * dtype_size(dtype));
  const std::int64_t scale_rows = (rows + block_rows - 1) / block_rows;
  const std::int64_t scale_cols = (cols + block_cols - 1) / block_cols;
  if (dtype == DType::kF8E4M3) {
    std::uniform_real_distribution<float> s(0.001f, 0.01f);
    o.scales.resize(static_cast<std::size_t>(scale_rows * scale_cols));
    for (auto& v : o.scales) v = s(rng);
  }
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    const float f = dist(rng);
    switch (dtype) {
      case DType::kF32:
        std::memcpy(o.bytes.data() + i * 4, &f, 4);
        o.value[i] = f;
        break;
      case DType::kBF16: {
        const std::uint16_t h = f32_to_bf16(f);
        std::memcpy(o.bytes.data() + i * 2, &h, 2);
        o.value[i] = bf16_to_f32(h);
        break;
      }
      case DType::kF16: {
        const std::uint16_t h = f32_to_f16(f);
        std::memcpy(o.bytes.data() + i * 2, &h, 2);
        o.value[i] = f16_to_f32(h);
        break;
      }
      case DType::kF8E4M3: {
        std::uint8_t code = static_cast<std::uint8_t>(rng());
        if ((code & 0x7f) == 0x7f) code = 0x38;  // never NaN, as in a release checkpoint
        o.bytes[i] = code;
        const std::int64_t r = i / cols, c = i % cols;
        o.value[i] = static_cast<double>(fp8_e4m3_to_f32(code)) *
                     o.scales[(r / block_rows) * scale_cols + c / block_cols];
        break;
      }
      default:
        break;
    }
  }
  o.w.name = "test.weight";
  o.w.dtype = dtype;
  o.w.rows = rows;
  o.w.cols = cols;
  o.w.data = o.bytes.data();
  if (dtype == DType::kF8E4M3) {
    o.w.block_scales = o.scales.data();
    o.w.block_rows = block_rows;
    o.w.block_cols = block_cols;
  }
  return o;
}

std::vector<float> random_activations(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

// y[t, r] within float32 error of Σ_c x[t, c] W[r, c] computed in double: each kernel sums at
// most ~cols/8 + 8 rounded terms per partial sum, so 4e-6 of Σ|x W| bounds it for cols <= 300.
void expect_matches_naive(const OwnedWeight& o, const std::vector<float>& x, std::int64_t tokens,
                          const std::vector<float>& y) {
  const std::int64_t rows = o.w.rows, cols = o.w.cols;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t r = 0; r < rows; ++r) {
      double want = 0, magnitude = 0;
      for (std::int64_t c = 0; c < cols; ++c) {
        want += x[t * cols + c] * o.value[r * cols + c];
        magnitude += std::abs(x[t * cols + c] * o.value[r * cols + c]);
      }
      ASSERT_LE(std::abs(y[t * rows + r] - want), 4e-6 * magnitude + 1e-12)
          << dtype_name(o.w.dtype) << " token " << t << " row " << r;
    }
}

class MatmulFormat : public ::testing::TestWithParam<DType> {};

TEST_P(MatmulFormat, MatchesNaiveDoubleProductWithPartialBlocks) {
  // 200 x 300: FP8 scales [2, 3] with partial last blocks in both directions.
  const std::int64_t rows = 200, cols = 300;
  const OwnedWeight o = make_weight(GetParam(), rows, cols, 1);
  if (GetParam() == DType::kF8E4M3) {
    EXPECT_EQ(o.scales.size(), 6u);
  }
  ThreadPool pool(2);
  for (std::int64_t tokens : {1, 3, 8}) {
    const auto x = random_activations(tokens * cols, 2);
    std::vector<float> y(static_cast<std::size_t>(tokens * rows));
    matmul(o.w, x.data(), tokens, y.data(), pool);
    expect_matches_naive(o, x, tokens, y);
  }
}

TEST_P(MatmulFormat, OneTwoAndThreeThreadsAreBitIdentical) {
  const std::int64_t rows = 200, cols = 300, tokens = 5;
  const OwnedWeight o = make_weight(GetParam(), rows, cols, 3);
  const auto x = random_activations(tokens * cols, 4);
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(static_cast<std::size_t>(tokens * rows));
    matmul(o.w, x.data(), tokens, y.data(), pool);
    out.push_back(std::move(y));
  }
  EXPECT_EQ(0, std::memcmp(out[0].data(), out[1].data(), out[0].size() * 4));
  EXPECT_EQ(0, std::memcmp(out[0].data(), out[2].data(), out[0].size() * 4));
}

TEST_P(MatmulFormat, RowSubsetsWriteStridedOutput) {
  const std::int64_t rows = 37, cols = 129, tokens = 2;
  const OwnedWeight o = make_weight(GetParam(), rows, cols, 5);
  const auto x = random_activations(tokens * cols, 6);
  ThreadPool pool(1);
  std::vector<float> full(static_cast<std::size_t>(tokens * rows));
  matmul(o.w, x.data(), tokens, full.data(), pool);
  std::vector<float> part(static_cast<std::size_t>(tokens * rows), -1.0f);
  matmul_rows(o.w, 10, 30, x.data(), tokens, part.data() + 10, rows);
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t r = 0; r < rows; ++r) {
      const float want = (r >= 10 && r < 30) ? full[t * rows + r] : -1.0f;  // else untouched
      EXPECT_EQ(part[t * rows + r], want) << t << "," << r;
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, MatmulFormat,
                         ::testing::Values(DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3),
                         [](const auto& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

TEST(Dequantize, Fp8UsesTheScaleOfEachElementsBlockIncludingPartialBlocks) {
  // kv_a_proj_with_mqa of V3 has 576 rows = 4.5 blocks: its last block row is partial.
  const OwnedWeight o = make_weight(DType::kF8E4M3, 576, 200, 8);
  ASSERT_EQ(o.scales.size(), 5u * 2u);
  std::vector<float> row(200);
  for (std::int64_t r : {0, 127, 128, 511, 512, 575}) {
    dequantize_rows(o.w, r, r + 1, row.data());
    for (std::int64_t c : {0, 127, 128, 199}) {
      const float want = fp8_e4m3_table()[o.bytes[r * 200 + c]] * o.scales[(r / 128) * 2 + c / 128];
      EXPECT_EQ(row[c], want) << r << "," << c;
    }
  }
}

TEST(Dequantize, HonoursNonSquareBlockSizes) {
  const OwnedWeight o = make_weight(DType::kF8E4M3, 70, 50, 9, 64, 32);  // scales [2, 2]
  ASSERT_EQ(o.scales.size(), 4u);
  std::vector<float> all(70 * 50);
  dequantize_rows(o.w, 0, 70, all.data());
  for (std::int64_t i = 0; i < 70 * 50; ++i) ASSERT_EQ(all[i], static_cast<float>(o.value[i])) << i;
  ThreadPool pool(2);
  const auto x = random_activations(2 * 50, 10);
  std::vector<float> y(2 * 70);
  matmul(o.w, x.data(), 2, y.data(), pool);
  expect_matches_naive(o, x, 2, y);
}

TEST(Dequantize, RejectsIntegerWeights) {
  const std::vector<std::int32_t> data(6, 1);
  WeightMatrix w;
  w.name = "ints";
  w.dtype = DType::kI32;
  w.rows = 2;
  w.cols = 3;
  w.data = reinterpret_cast<const std::uint8_t*>(data.data());
  std::vector<float> out(6);
  try {
    dequantize_rows(w, 0, 1, out.data());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ints"), std::string::npos) << e.what();
  }
}

TEST(WeightMatrix, BytesCountDataAndScales) {
  const OwnedWeight fp8 = make_weight(DType::kF8E4M3, 200, 300, 11);
  EXPECT_EQ(fp8.w.bytes(), 200 * 300 + 6 * 4);
  const OwnedWeight bf16 = make_weight(DType::kBF16, 20, 30, 12);
  EXPECT_EQ(bf16.w.bytes(), 20 * 30 * 2);
}

// Cache rows: every BF16 pattern (NaNs, infinities, subnormals included) widens to the float32
// with the same bits in its high half, for every length around the vector width.
TEST(Bf16ToF32, EveryPatternKeepsItsBits) {
  std::vector<std::uint16_t> in(65536 + 37);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint16_t>(i * 40503u);
  for (const std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{17}, in.size()}) {
    std::vector<float> out(n + 1, 1.5f);
    bf16_to_f32_n(in.data(), out.data(), static_cast<std::int64_t>(n));
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &out[i], 4);
      ASSERT_EQ(bits, std::uint32_t{in[i]} << 16) << "n " << n << " i " << i;
    }
    EXPECT_EQ(out[n], 1.5f) << "wrote past n = " << n;
  }
}

}  // namespace
}  // namespace whale
