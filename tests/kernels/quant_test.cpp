// matmul on GGML block weights: every int8 kernel the host runs (the Q8_0 panel kernel with and
// without VNNI included) bit-identical to the scalar twin on ragged token and row counts; the block
// product close to the float32 product of the dequantized weights (within activation-quantization
// error); the generic dequantizing path for the other block formats; results independent of the
// thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "formats/ggml_quants.h"
#include "formats/scalar_formats.h"
#include "kernels/matmul.h"
#include "kernels/quant_matmul.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

struct BlockWeight {
  std::vector<std::uint8_t> bytes;
  WeightMatrix w;
};

// Quantized Gaussian rows, or (raw) random codes with small f16 scales: raw codes reach the
// extremes quantizers avoid (Q8_0 -128, Q6_K scale -128, Q4_K 6-bit scales and mins of 63).
BlockWeight make_block_weight(DType dtype, std::int64_t rows, std::int64_t cols, std::uint32_t seed,
                              bool raw = false) {
  std::mt19937 rng(seed);
  BlockWeight b;
  const std::int64_t row_bytes = dtype_row_bytes(dtype, cols);
  b.bytes.resize(static_cast<std::size_t>(rows * row_bytes));
  if (raw) {
    for (auto& v : b.bytes) v = static_cast<std::uint8_t>(rng());
    const std::int64_t block_bytes = static_cast<std::int64_t>(dtype_block_bytes(dtype));
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    for (std::int64_t off = 0; off < static_cast<std::int64_t>(b.bytes.size());
         off += block_bytes) {
      std::uint16_t d = f32_to_f16(scale(rng)), dmin = f32_to_f16(std::fabs(scale(rng)));
      const int d_at = dtype == DType::kQ6_K ? 208 : 0;
      std::memcpy(b.bytes.data() + off + d_at, &d, 2);
      if (dtype == DType::kQ4_K) std::memcpy(b.bytes.data() + off + 2, &dmin, 2);
    }
  } else {
    std::normal_distribution<float> normal(0.0f, 0.5f);
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (std::int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = normal(rng);
      quantize_row(dtype, row.data(), b.bytes.data() + r * row_bytes, cols);
    }
  }
  b.w.name = "test";
  b.w.dtype = dtype;
  b.w.rows = rows;
  b.w.cols = cols;
  b.w.data = b.bytes.data();
  return b;
}

std::vector<float> activations(std::int64_t n_tokens, std::int64_t cols, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n_tokens * cols));
  for (auto& v : x) v = normal(rng);
  if (!x.empty()) x[0] = 0.0f;  // an all-zero block somewhere: scale 0
  for (std::int64_t c = 0; c < std::min<std::int64_t>(cols, 32); ++c)
    x[static_cast<std::size_t>(c)] = 0.0f;
  return x;
}

const char* kernel_name(Int8Kernel k) {
  switch (k) {
    case Int8Kernel::kScalar:
      return "scalar";
    case Int8Kernel::kAvx2:
      return "avx2";
    case Int8Kernel::kAvx512:
      return "avx512";
    case Int8Kernel::kAvx512Vnni:
      return "avx512vnni";
  }
  return "?";
}

class Int8KernelTest : public ::testing::TestWithParam<std::tuple<DType, Int8Kernel>> {};

TEST_P(Int8KernelTest, BitIdenticalToScalarTwinOnRaggedShapes) {
  const auto [dtype, kernel] = GetParam();
  if (!int8_kernel_supported(kernel)) GTEST_SKIP() << kernel_name(kernel) << " not supported here";
  const std::int64_t block = dtype_block_elements(dtype);
  for (const bool raw : {false, true}) {
    for (const std::int64_t rows : {1, 7, 33, 45}) {
      for (const std::int64_t cols : {block, 2 * block, 3 * block, 5 * block}) {
        const BlockWeight b =
            make_block_weight(dtype, rows, cols, static_cast<std::uint32_t>(rows * 7 + cols), raw);
        // The panel kernel beyond kRowKernelTokens: whole and partial panels.
        for (const std::int64_t tokens : {1, 2, 3, 4, 5, 16, 17, 32, 33, 70}) {
          const auto x = activations(tokens, cols, static_cast<std::uint32_t>(tokens));
          const Int8Activations a = quantize_activations(dtype, x.data(), tokens, cols);
          std::vector<float> want(static_cast<std::size_t>(tokens * rows)), got(want.size(), NAN);
          int8_matmul_rows(Int8Kernel::kScalar, b.w, 0, rows, a, want.data(), rows);
          // Split at an odd row, as threads may.
          const std::int64_t mid = rows / 2 + 1 > rows ? rows : rows / 2 + 1;
          int8_matmul_rows(kernel, b.w, 0, mid, a, got.data(), rows);
          int8_matmul_rows(kernel, b.w, mid, rows, a, got.data() + mid, rows);
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
              << dtype_name(dtype) << " " << kernel_name(kernel) << " raw " << raw << " " << rows
              << "x" << cols << " tokens " << tokens << ": first " << got[0] << " vs " << want[0];
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllKernels, Int8KernelTest,
    ::testing::Combine(::testing::Values(DType::kQ8_0, DType::kQ4_K, DType::kQ6_K),
                       ::testing::Values(Int8Kernel::kAvx2, Int8Kernel::kAvx512,
                                         Int8Kernel::kAvx512Vnni)),
    [](const auto& p) {
      return std::string(dtype_name(std::get<0>(p.param))) + "_" +
             kernel_name(std::get<1>(p.param));
    });

// The panel and row quantizers: every SIMD path gives the scalar codes and scales bit for bit,
// including blocks of zeros, of huge and tiny values, with infinities and NaN, at any lane.
TEST(PanelQuantizer, EveryIsaMatchesScalar) {
  const std::int64_t cols = 8 * 32;
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(cols));
  for (auto& v : x) v = normal(rng);
  for (int i = 0; i < 32; ++i) x[static_cast<std::size_t>(32 + i)] = 0.0f;     // block 1
  for (int i = 0; i < 32; ++i) x[static_cast<std::size_t>(64 + i)] *= 3e37f;   // block 2
  for (int i = 0; i < 32; ++i) x[static_cast<std::size_t>(96 + i)] *= 1e-40f;  // block 3
  x[100] = 0.0f;
  x[130] = INFINITY;                                                                   // block 4
  x[170] = NAN;                                                                        // block 5
  for (int i = 0; i < 32; ++i) x[static_cast<std::size_t>(192 + i)] = (i % 3) - 1.0f;  // exact
  x[250] = 2.5f * x[251];  // ties at the block's maximum
  for (const std::int64_t lane : {std::int64_t{0}, std::int64_t{13}, kTokenPanel - 1}) {
    std::vector<std::int16_t> want(static_cast<std::size_t>(kTokenPanel * cols), 7), got = want;
    std::vector<float> want_scale(static_cast<std::size_t>(kTokenPanel * cols / 32), 7.0f),
        got_scale = want_scale, want_sum = want_scale, got_sum = want_scale;
    quantize_panel_token(Isa::kScalar, x.data(), cols, want.data(), want_scale.data(),
                         want_sum.data(), lane);
    // Codes are value / scale rounded: each within half a step of the input.
    for (std::int64_t c = 0; c < 64; ++c) {
      const float code = want[static_cast<std::size_t>(((c / 2) * kTokenPanel + lane) * 2 + c % 2)];
      const float scale = want_scale[static_cast<std::size_t>((c / 32) * kTokenPanel + lane)];
      EXPECT_LE(std::fabs(code * scale - x[static_cast<std::size_t>(c)]), 0.5f * scale + 1e-30f);
    }
    // Each block's sum is its codes' sum.
    for (std::int64_t b = 0; b < cols / 32; ++b) {
      float sum = 0.0f;
      for (std::int64_t c = 32 * b; c < 32 * b + 32; ++c)
        sum += want[static_cast<std::size_t>(((c / 2) * kTokenPanel + lane) * 2 + c % 2)];
      EXPECT_EQ(sum, want_sum[static_cast<std::size_t>(b * kTokenPanel + lane)]) << "block " << b;
    }
    // The natural-order row quantizer of decode: quantize_int16_blocks' codes and scales.
    std::vector<std::int16_t> row_want(static_cast<std::size_t>(cols)), row_got(row_want.size());
    std::vector<float> row_scale_want(static_cast<std::size_t>(cols / 32)),
        row_scale_got(row_scale_want.size());
    quantize_int16_blocks(x.data(), cols, 32, row_want.data(), row_scale_want.data());
    for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      quantize_int16_row(isa, x.data(), cols, row_got.data(), row_scale_got.data());
      EXPECT_EQ(0, std::memcmp(row_want.data(), row_got.data(), row_want.size() * 2))
          << "row " << isa_name(isa);
      EXPECT_EQ(0,
                std::memcmp(row_scale_want.data(), row_scale_got.data(), row_scale_want.size() * 4))
          << "row " << isa_name(isa);
    }
    for (const Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      quantize_panel_token(isa, x.data(), cols, got.data(), got_scale.data(), got_sum.data(), lane);
      EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 2)) << isa_name(isa);
      EXPECT_EQ(0, std::memcmp(want_scale.data(), got_scale.data(), want_scale.size() * 4))
          << isa_name(isa);
      EXPECT_EQ(0, std::memcmp(want_sum.data(), got_sum.data(), want_sum.size() * 4))
          << isa_name(isa);
    }
  }
}

// The k-quants' decode quantizer: every SIMD path gives quantize_int8_blocks' codes, scales and
// 16-value sums bit for bit, on blocks of 256 that are random, zero, huge, tiny, with an
// infinity or a NaN, and exactly representable.
TEST(Int8RowQuantizer, EveryIsaMatchesScalar) {
  const std::int64_t cols = 7 * 256;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(cols));
  for (auto& v : x) v = normal(rng);
  const auto block = [&](int b, int i) -> float& {
    return x[static_cast<std::size_t>(256 * b + i)];
  };
  for (int i = 0; i < 256; ++i) block(1, i) = 0.0f;
  for (int i = 0; i < 256; ++i) block(2, i) *= 3e37f;
  for (int i = 0; i < 256; ++i) block(3, i) *= 1e-40f;
  block(4, 77) = -INFINITY;
  block(5, 200) = NAN;
  for (int i = 0; i < 256; ++i) block(6, i) = static_cast<float>(i % 255 - 127);  // exact codes
  std::vector<std::int8_t> want(static_cast<std::size_t>(cols)), got(want.size());
  std::vector<float> want_scale(static_cast<std::size_t>(cols / 256)), got_scale(want_scale.size());
  std::vector<std::int16_t> want_sum(static_cast<std::size_t>(cols / 16)), got_sum(want_sum.size());
  quantize_int8_blocks(x.data(), cols, 256, want.data(), want_scale.data(), want_sum.data());
  // The definition: codes within half a step of value / scale, sums the codes' sums.
  for (std::int64_t c = 0; c < 256; ++c)
    EXPECT_LE(std::fabs(want[static_cast<std::size_t>(c)] * want_scale[0] -
                        x[static_cast<std::size_t>(c)]),
              0.5f * want_scale[0]);
  for (std::int64_t g = 0; g < cols / 16; ++g) {
    int sum = 0;
    for (std::int64_t c = 16 * g; c < 16 * g + 16; ++c) sum += want[static_cast<std::size_t>(c)];
    EXPECT_EQ(sum, want_sum[static_cast<std::size_t>(g)]);
  }
  EXPECT_TRUE(std::isnan(want_scale[4]) && std::isnan(want_scale[5]));
  for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    std::fill(got.begin(), got.end(), std::int8_t{7});
    std::fill(got_sum.begin(), got_sum.end(), std::int16_t{7});
    quantize_int8_row(isa, x.data(), cols, got.data(), got_scale.data(), got_sum.data());
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size())) << isa_name(isa);
    EXPECT_EQ(0, std::memcmp(want_scale.data(), got_scale.data(), want_scale.size() * 4))
        << isa_name(isa);
    EXPECT_EQ(0, std::memcmp(want_sum.data(), got_sum.data(), want_sum.size() * 2))
        << isa_name(isa);
  }
}

// The float32 product of the dequantized weights, and a bound on the integer path's deviation:
// each activation moves by at most half a quantization step (max|x| / 254 per block for the
// k-quants' int8 codes, max|x| / 65534 for Q8_0's int16 ones), so the error is at most
// sum_c |w_c| * step_c / 2, about sqrt(cols) times less in practice.
void reference_product(const WeightMatrix& w, const std::vector<float>& x, std::int64_t tokens,
                       std::vector<float>& y, std::vector<float>& bound) {
  std::vector<float> dense(static_cast<std::size_t>(w.rows * w.cols));
  dequantize_rows(w, 0, w.rows, dense.data());
  y.assign(static_cast<std::size_t>(tokens * w.rows), 0.0f);
  bound.assign(y.size(), 0.0f);
  const std::int64_t block = w.dtype == DType::kQ8_0 ? 32 : 256;
  const double half_steps = w.dtype == DType::kQ8_0 ? 65534.0 : 254.0;
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t r = 0; r < w.rows; ++r) {
      double sum = 0, err = 0;
      for (std::int64_t c0 = 0; c0 < w.cols; c0 += block) {
        float amax = 0.0f;
        for (std::int64_t c = c0; c < c0 + block; ++c)
          amax = std::max(amax, std::fabs(x[t * w.cols + c]));
        for (std::int64_t c = c0; c < c0 + block; ++c) {
          sum += static_cast<double>(dense[r * w.cols + c]) * x[t * w.cols + c];
          err += std::fabs(dense[r * w.cols + c]) * amax / half_steps;
        }
      }
      y[t * w.rows + r] = static_cast<float>(sum);
      bound[t * w.rows + r] = static_cast<float>(err) + 1e-4f;
    }
  }
}

class BlockMatmulTest : public ::testing::TestWithParam<DType> {};

TEST_P(BlockMatmulTest, CloseToFloatProductOfDequantizedWeightsOnEveryIsa) {
  const DType dtype = GetParam();
  const std::int64_t rows = 37, cols = 4 * dtype_block_elements(dtype) *
                                       (dtype_block_elements(dtype) == 32 ? 8 : 1);
  const BlockWeight b = make_block_weight(dtype, rows, cols, 11);
  for (const std::int64_t tokens : {1, 3, 17, 40}) {
    const auto x = activations(tokens, cols, 5);
    std::vector<float> want, bound;
    reference_product(b.w, x, tokens, want, bound);
    double typical_err = 0, typical_bound = 0;
    std::vector<float> scalar(want.size());
    matmul_rows_isa(Isa::kScalar, b.w, 0, rows, x.data(), tokens, scalar.data(), rows);
    for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      std::vector<float> got(want.size());
      matmul_rows_isa(isa, b.w, 0, rows, x.data(), tokens, got.data(), rows);
      // The integer kernels equal their scalar twin bit for bit.
      if (has_int8_kernel(dtype)) {
        EXPECT_EQ(0, std::memcmp(got.data(), scalar.data(), got.size() * 4))
            << dtype_name(dtype) << " " << isa_name(isa)
            << ": public entry point differs from scalar";
      }
      for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_LE(std::fabs(got[i] - want[i]), bound[i])
            << dtype_name(dtype) << " " << isa_name(isa) << " tokens " << tokens << " i " << i;
        typical_err += std::fabs(got[i] - want[i]);
        typical_bound += bound[i];
      }
    }
    // Rounding errors mostly cancel: far inside the worst case.
    EXPECT_LT(typical_err, 0.25 * typical_bound) << dtype_name(dtype);
  }
}

TEST_P(BlockMatmulTest, ThreadCountDoesNotChangeResults) {
  const DType dtype = GetParam();
  const std::int64_t cols = dtype_block_elements(dtype) == 32 ? 384 : 512;
  const BlockWeight b = make_block_weight(dtype, 1000, cols, 9);
  for (const std::int64_t tokens : {1, 5}) {
    const auto x = activations(tokens, cols, 3);
    std::vector<float> ref(static_cast<std::size_t>(tokens * 1000));
    {
      ThreadPool one(1);
      matmul(b.w, x.data(), tokens, ref.data(), one);
    }
    std::vector<float> rows_only(ref.size());
    matmul_rows(b.w, 0, 1000, x.data(), tokens, rows_only.data(), 1000);
    EXPECT_EQ(0, std::memcmp(rows_only.data(), ref.data(), ref.size() * 4));
    for (const int threads : {2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> y(ref.size());
      matmul(b.w, x.data(), tokens, y.data(), pool);
      EXPECT_EQ(0, std::memcmp(y.data(), ref.data(), y.size() * 4))
          << dtype_name(dtype) << " " << threads;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Int8Formats, BlockMatmulTest,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_K, DType::kQ6_K),
                         [](const auto& p) { return std::string(dtype_name(p.param)); });

// Formats without int8 kernels: dequantize and multiply in float32. Every ISA path must agree
// with a double-precision product of the dequantized weights.
class GenericBlockTest : public ::testing::TestWithParam<DType> {};

TEST_P(GenericBlockTest, EveryIsaMatchesDoubleProductOfDequantizedRows) {
  const DType dtype = GetParam();
  const std::int64_t rows = 21, cols = 2 * 256;
  std::mt19937 rng(4);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(rows * dtype_row_bytes(dtype, cols)));
  for (auto& v : bytes) v = static_cast<std::uint8_t>(rng());
  // Sane f16 scales: overwrite every 16-bit field that may hold one with 2^-6.
  const std::int64_t bb = static_cast<std::int64_t>(dtype_block_bytes(dtype));
  const std::uint16_t small = f32_to_f16(1.0f / 64);
  for (std::int64_t off = 0; off < static_cast<std::int64_t>(bytes.size()); off += bb) {
    switch (dtype) {
      case DType::kQ2_K:
        std::memcpy(&bytes[off + 80], &small, 2);
        std::memcpy(&bytes[off + 82], &small, 2);
        break;
      case DType::kQ3_K:
        std::memcpy(&bytes[off + 108], &small, 2);
        break;
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ5_K:
        std::memcpy(&bytes[off], &small, 2);
        std::memcpy(&bytes[off + 2], &small, 2);
        break;
      default:
        std::memcpy(&bytes[off], &small, 2);
        break;
    }
  }
  WeightMatrix w;
  w.name = "generic";
  w.dtype = dtype;
  w.rows = rows;
  w.cols = cols;
  w.data = bytes.data();
  std::vector<float> dense(static_cast<std::size_t>(rows * cols));
  dequantize_rows(w, 0, rows, dense.data());
  for (const std::int64_t tokens : {1, 2, 6}) {
    const auto x = activations(tokens, cols, 8);
    for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      std::vector<float> got(static_cast<std::size_t>(tokens * rows));
      matmul_rows_isa(isa, w, 0, rows, x.data(), tokens, got.data(), rows);
      for (std::int64_t t = 0; t < tokens; ++t)
        for (std::int64_t r = 0; r < rows; ++r) {
          double want = 0, mag = 0;
          for (std::int64_t c = 0; c < cols; ++c) {
            want += static_cast<double>(dense[r * cols + c]) * x[t * cols + c];
            mag += std::fabs(static_cast<double>(dense[r * cols + c]) * x[t * cols + c]);
          }
          ASSERT_NEAR(got[t * rows + r], want, 1e-5 * mag + 1e-6)
              << dtype_name(dtype) << " " << isa_name(isa) << " t " << t << " r " << r;
        }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(OtherFormats, GenericBlockTest,
                         ::testing::Values(DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                           DType::kQ8_1, DType::kQ2_K, DType::kQ3_K, DType::kQ5_K,
                                           DType::kIQ4_NL, DType::kIQ4_XS),
                         [](const auto& p) { return std::string(dtype_name(p.param)); });

TEST(BlockMatmulTest, NanActivationReachesTheOutputOnEveryIsa) {
  for (const DType dtype : {DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const BlockWeight b = make_block_weight(dtype, 5, 512, 2);
    auto x = activations(2, 512, 4);
    x[512 + 300] = NAN;  // token 1 only
    for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      std::vector<float> y(10);
      matmul_rows_isa(isa, b.w, 0, 5, x.data(), 2, y.data(), 5);
      for (int r = 0; r < 5; ++r) {
        EXPECT_FALSE(std::isnan(y[r])) << dtype_name(dtype) << " " << isa_name(isa);
        EXPECT_TRUE(std::isnan(y[5 + r])) << dtype_name(dtype) << " " << isa_name(isa);
      }
    }
  }
}

TEST(BlockMatmulTest, PartialBlockRowsAreRejectedWithTheTensorName) {
  std::vector<std::uint8_t> bytes(1024);
  WeightMatrix w;
  w.name = "blk.0.ffn_up.weight";
  w.dtype = DType::kQ4_K;
  w.rows = 1;
  w.cols = 300;
  w.data = bytes.data();
  std::vector<float> x(300), y(1);
  try {
    matmul_rows(w, 0, 1, x.data(), 1, y.data(), 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace whale
