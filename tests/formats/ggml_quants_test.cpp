// GGML block formats: every dequantizer against values worked out here, element by element,
// from the documented GGUF layouts (ggml-common.h); the quantizers' round-trip error against
// stated bounds and against naive round-to-nearest baselines.
#include "formats/ggml_quants.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "formats/scalar_formats.h"
#include "util/error.h"

namespace whale {
namespace {

float f16_at(const std::uint8_t* p, int offset) {
  std::uint16_t h;
  std::memcpy(&h, p + offset, 2);
  return f16_to_f32(h);
}

void put_f16(std::uint8_t* p, int offset, float value) {
  const std::uint16_t h = f32_to_f16(value);
  std::memcpy(p + offset, &h, 2);
}

constexpr int kIq4[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Element i of one block, straight from the layout. Byte offsets are those of the GGUF
// structs: e.g. Q6_K = ql[128] @0, qh[64] @128, scales[16] @192, d @208.
float expected_value(DType dtype, const std::uint8_t* b, int i) {
  const auto nib32 = [](const std::uint8_t* qs, int j) {
    return j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
  };
  switch (dtype) {
    case DType::kQ4_0:
      return static_cast<float>(nib32(b + 2, i) - 8) * f16_at(b, 0);
    case DType::kQ4_1:
      return static_cast<float>(nib32(b + 4, i)) * f16_at(b, 0) + f16_at(b, 2);
    case DType::kQ5_0:
    case DType::kQ5_1: {
      const int base = dtype == DType::kQ5_0 ? 2 : 4;
      const std::uint32_t qh = b[base] | (b[base + 1] << 8) | (b[base + 2] << 16) |
                               (static_cast<std::uint32_t>(b[base + 3]) << 24);
      const int q = nib32(b + base + 4, i) | static_cast<int>(((qh >> i) & 1) << 4);
      return dtype == DType::kQ5_0 ? static_cast<float>(q - 16) * f16_at(b, 0)
                                   : static_cast<float>(q) * f16_at(b, 0) + f16_at(b, 2);
    }
    case DType::kQ8_0:
      return static_cast<float>(static_cast<std::int8_t>(b[2 + i])) * f16_at(b, 0);
    case DType::kQ8_1:
      return static_cast<float>(static_cast<std::int8_t>(b[4 + i])) * f16_at(b, 0);
    case DType::kQ2_K:
    case DType::kQ3_K: {
      // Halves of 128; within a half, 2-bit plane j = bits 2j, 2j+1 of 32 bytes; the first 16
      // and last 16 of those bytes are separate 16-value sub-blocks.
      const int h = i / 128, j = (i % 128) / 32, s = (i % 32) / 16, l = i % 16;
      const int sub = 8 * h + 2 * j + s;
      if (dtype == DType::kQ2_K) {  // scales[16] @0, qs[64] @16, d @80, dmin @82
        const int q = (b[16 + 32 * h + 16 * s + l] >> (2 * j)) & 3;
        return f16_at(b, 80) * static_cast<float>(b[sub] & 15) * static_cast<float>(q) -
               f16_at(b, 82) * static_cast<float>(b[sub] >> 4);
      }
      // Q3_K: hmask[32] @0, qs[64] @32, scales[12] @96, d @108.
      const std::uint8_t* sc = b + 96;
      const int low = sub < 8 ? sc[sub] & 15 : sc[sub - 8] >> 4;
      const int high = (sc[8 + sub % 4] >> (2 * (sub / 4))) & 3;
      const int q = (b[32 + 32 * h + 16 * s + l] >> (2 * j)) & 3;
      const bool hbit = (b[16 * s + l] >> (4 * h + j)) & 1;
      return f16_at(b, 108) * static_cast<float>((low | (high << 4)) - 32) *
             static_cast<float>(q - (hbit ? 0 : 4));
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {  // d @0, dmin @2, scales[12] @4, (Q5_K: qh[32] @16), qs[128] after
      const int sub = i / 32;
      const std::uint8_t* sc = b + 4;
      int scale, min;
      if (sub < 4) {
        scale = sc[sub] & 63;
        min = sc[sub + 4] & 63;
      } else {
        scale = (sc[sub + 4] & 15) | ((sc[sub - 4] >> 6) << 4);
        min = (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4);
      }
      const int qs = dtype == DType::kQ4_K ? 16 : 48;
      const std::uint8_t byte = b[qs + 32 * (sub / 2) + i % 32];
      int q = sub % 2 ? byte >> 4 : byte & 15;
      if (dtype == DType::kQ5_K) q |= ((b[16 + i % 32] >> sub) & 1) << 4;
      return f16_at(b, 0) * static_cast<float>(scale) * static_cast<float>(q) -
             f16_at(b, 2) * static_cast<float>(min);
    }
    case DType::kQ6_K: {
      const int h = i / 128, r = i % 128, k = r / 32, l = r % 32;
      const std::uint8_t low_byte = b[64 * h + 32 * (k % 2) + l];
      const int low = k < 2 ? low_byte & 15 : low_byte >> 4;
      const int high = (b[128 + 32 * h + l] >> (2 * k)) & 3;
      const int scale = static_cast<std::int8_t>(b[192 + 8 * h + r / 16]);
      return f16_at(b, 208) * static_cast<float>(scale) *
             static_cast<float>((low | (high << 4)) - 32);
    }
    case DType::kQ8_K: {
      float d;
      std::memcpy(&d, b, 4);
      return d * static_cast<float>(static_cast<std::int8_t>(b[4 + i]));
    }
    case DType::kIQ4_NL:
      return f16_at(b, 0) * static_cast<float>(kIq4[nib32(b + 2, i)]);
    case DType::kIQ4_XS: {  // d @0, scales_h @2, scales_l[4] @4, qs[128] @8
      const int sub = i / 32;
      const int scales_h = b[2] | (b[3] << 8);
      const int ls =
          ((b[4 + sub / 2] >> (4 * (sub % 2))) & 15) | (((scales_h >> (2 * sub)) & 3) << 4);
      return f16_at(b, 0) * static_cast<float>(ls - 32) *
             static_cast<float>(kIq4[nib32(b + 8 + 16 * sub, i % 32)]);
    }
    default:
      return NAN;
  }
}

// Random codes and scales, with every f16 scale a small power of two so that every product
// above is exact and any evaluation order gives the same float.
std::vector<std::uint8_t> random_blocks(DType dtype, int n_blocks, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const int bytes = static_cast<int>(dtype_block_bytes(dtype));
  std::vector<std::uint8_t> v(static_cast<std::size_t>(n_blocks * bytes));
  for (auto& x : v) x = static_cast<std::uint8_t>(rng());
  for (int i = 0; i < n_blocks; ++i) {
    std::uint8_t* b = v.data() + i * bytes;
    const float d = std::ldexp(1.0f, -static_cast<int>(rng() % 4)) * (rng() % 2 ? -1.0f : 1.0f);
    const float m = std::ldexp(1.0f, -static_cast<int>(rng() % 4) - 1);
    switch (dtype) {
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ8_1:
      case DType::kQ4_K:
      case DType::kQ5_K:
        put_f16(b, 0, d);
        put_f16(b, 2, m);
        break;
      case DType::kQ2_K:
        put_f16(b, 80, d);
        put_f16(b, 82, m);
        break;
      case DType::kQ3_K:
        put_f16(b, 108, d);
        break;
      case DType::kQ6_K:
        put_f16(b, 208, d);
        break;
      case DType::kQ8_K:
        std::memcpy(b, &d, 4);
        break;
      default:
        put_f16(b, 0, d);
        break;
    }
  }
  return v;
}

class DequantizeTest : public ::testing::TestWithParam<DType> {};

TEST_P(DequantizeTest, MatchesValuesWorkedOutFromTheLayout) {
  const DType dtype = GetParam();
  const int per_block = static_cast<int>(dtype_block_elements(dtype));
  const int n_blocks = 5;
  const auto blocks = random_blocks(dtype, n_blocks, 7 + static_cast<std::uint32_t>(dtype));
  std::vector<float> got(static_cast<std::size_t>(n_blocks * per_block));
  dequantize_row(dtype, blocks.data(), got.data(), n_blocks * per_block);
  for (int blk = 0; blk < n_blocks; ++blk)
    for (int i = 0; i < per_block; ++i)
      ASSERT_EQ(got[blk * per_block + i],
                expected_value(dtype, blocks.data() + blk * dtype_block_bytes(dtype), i))
          << dtype_name(dtype) << " block " << blk << " value " << i;
}

INSTANTIATE_TEST_SUITE_P(AllBlockFormats, DequantizeTest,
                         ::testing::Values(DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                           DType::kQ8_0, DType::kQ8_1, DType::kQ2_K, DType::kQ3_K,
                                           DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K,
                                           DType::kIQ4_NL, DType::kIQ4_XS),
                         [](const auto& p) { return std::string(dtype_name(p.param)); });

TEST(DequantizeTest, HandWrittenBlocksGiveHandComputedValues) {
  {  // Q4_0: d = 2, byte 0 = 0x1f: value 0 = (15 - 8) * 2, value 16 = (1 - 8) * 2
    std::uint8_t b[18] = {};
    put_f16(b, 0, 2.0f);
    b[2] = 0x1f;
    float y[32];
    dequantize_row(DType::kQ4_0, b, y, 32);
    EXPECT_EQ(y[0], 14.0f);
    EXPECT_EQ(y[16], -14.0f);
    EXPECT_EQ(y[1], -16.0f);
  }
  {  // Q4_K: d = 0.5, dmin = 0.25; sub-block 0 scale 3, min 5; sub-block 5 scale 0x23, min 0x31
    std::uint8_t b[144] = {};
    put_f16(b, 0, 0.5f);
    put_f16(b, 2, 0.25f);
    b[4 + 0] = 3;
    b[4 + 4] = 5;
    b[4 + 9] = 0x13;        // sub-block 5: scale low nibble 3, min low nibble 1
    b[4 + 1] |= 2 << 6;     // scale high bits 2 -> 0x23 = 35
    b[4 + 5] |= 3 << 6;     // min high bits 3 -> 0x31 = 49
    b[16 + 0] = 0x27;       // value 0: code 7; value 32: code 2
    b[16 + 64 + 1] = 0x90;  // value 161 (sub-block 5, high nibble of byte 64+1): 9
    float y[256];
    dequantize_row(DType::kQ4_K, b, y, 256);
    EXPECT_EQ(y[0], 0.5f * 3 * 7 - 0.25f * 5);
    EXPECT_EQ(y[32], 0.0f);  // sub-block 1: scale 0 and min 0 (bits of byte 1, 5 unset low)
    EXPECT_EQ(y[161], 0.5f * 35 * 9 - 0.25f * 49);
    EXPECT_EQ(y[160], -0.25f * 49);
  }
  {  // Q6_K: d = 0.5; value 200 = half 1, quarter 2 (high nibble of ql[64 + 8]), bits 4-5 of qh[40]
    std::uint8_t b[210] = {};
    put_f16(b, 208, 0.5f);
    b[64 + 8] = 0xa0;                                // low four bits 10
    b[128 + 32 + 8] = 2 << 4;                        // top bits 2 -> code 42 -> 10
    b[192 + 8 + 4] = static_cast<std::uint8_t>(-3);  // sub-block 12 = values 192..207
    float y[256];
    dequantize_row(DType::kQ6_K, b, y, 256);
    EXPECT_EQ(y[200], 0.5f * -3 * 10);
    EXPECT_EQ(y[0], 0.0f);
  }
}

std::vector<float> gaussian(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

double relative_rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(a[i]) * a[i];
  }
  return std::sqrt(err / norm);
}

double round_trip_error(DType dtype, const std::vector<float>& x) {
  std::vector<std::uint8_t> q(
      static_cast<std::size_t>(dtype_row_bytes(dtype, static_cast<std::int64_t>(x.size()))));
  quantize_row(dtype, x.data(), q.data(), static_cast<std::int64_t>(x.size()));
  std::vector<float> y(x.size());
  dequantize_row(dtype, q.data(), y.data(), static_cast<std::int64_t>(x.size()));
  return relative_rmse(x, y);
}

// Naive baselines in float (unquantized sub-block scales, which only favors them).
// Q4_K-like: per 32 values, min-max range split into 15 steps, round to nearest.
std::vector<float> naive_min_max_4bit(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (std::size_t b = 0; b < x.size(); b += 32) {
    const float lo = std::min(0.0f, *std::min_element(x.begin() + b, x.begin() + b + 32));
    const float hi = *std::max_element(x.begin() + b, x.begin() + b + 32);
    const float d = (hi - lo) / 15.0f;
    for (std::size_t i = b; i < b + 32; ++i)
      y[i] = lo + d * std::clamp(std::round((x[i] - lo) / d), 0.0f, 15.0f);
  }
  return y;
}
// Q6_K-like: per 16 values, max |x| mapped to 32 steps, round to nearest in [-32, 31].
std::vector<float> naive_absmax_6bit(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (std::size_t b = 0; b < x.size(); b += 16) {
    float amax = 0.0f;
    for (std::size_t i = b; i < b + 16; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 32.0f;
    for (std::size_t i = b; i < b + 16; ++i)
      y[i] = d * std::clamp(std::round(x[i] / d), -32.0f, 31.0f);
  }
  return y;
}

// Bounds a little above what round to nearest can reach on N(0, 1): an absmax block of 32
// has max|x| ~ 2.3, so Q8_0's step is 2.3 / 127 and its RMS error 0.0052 (0.0068 for Q8_K's
// 256-value blocks); GGML's own Q4_K search lands at 0.072 on this data.
TEST(QuantizeTest, RoundTripErrorOnGaussianDataWithinBounds) {
  const auto x = gaussian(256 * 64, 1);
  EXPECT_LT(round_trip_error(DType::kQ8_0, x), 0.006);
  EXPECT_LT(round_trip_error(DType::kQ8_K, x), 0.008);
  EXPECT_LT(round_trip_error(DType::kQ6_K, x), 0.02);
  EXPECT_LT(round_trip_error(DType::kQ4_K, x), 0.075);
  EXPECT_LT(round_trip_error(DType::kQ4_0, x), 0.12);
}

TEST(QuantizeTest, ScaleSearchBeatsNaiveRoundToNearest) {
  const auto x = gaussian(256 * 64, 2);
  const double q4k = round_trip_error(DType::kQ4_K, x),
               naive4 = relative_rmse(x, naive_min_max_4bit(x));
  const double q6k = round_trip_error(DType::kQ6_K, x),
               naive6 = relative_rmse(x, naive_absmax_6bit(x));
  EXPECT_LT(q4k, naive4) << "Q4_K " << q4k << " naive " << naive4;
  EXPECT_LT(q6k, naive6) << "Q6_K " << q6k << " naive " << naive6;
  std::printf("rel RMSE: Q4_K %.4f (naive %.4f), Q6_K %.4f (naive %.4f)\n", q4k, naive4, q6k,
              naive6);
}

TEST(QuantizeTest, ConstantAndZeroBlocksRoundTrip) {
  for (const DType dtype : {DType::kQ8_0, DType::kQ4_K, DType::kQ6_K, DType::kQ4_0}) {
    for (const float value : {0.0f, 1.5f, -0.75f}) {
      std::vector<float> x(256, value), y(256);
      std::vector<std::uint8_t> q(static_cast<std::size_t>(dtype_row_bytes(dtype, 256)));
      quantize_row(dtype, x.data(), q.data(), 256);
      dequantize_row(dtype, q.data(), y.data(), 256);
      for (int i = 0; i < 256; ++i)
        ASSERT_NEAR(y[i], value, 0.02f * std::fabs(value) + 1e-6f)
            << dtype_name(dtype) << " " << value;
    }
  }
}

TEST(QuantizeTest, Int8ActivationBlocksAreSymmetricWithPartialSums) {
  auto x = gaussian(512, 3);
  x[5] = -100.0f;  // the extreme must map to -127, never -128
  std::vector<std::int8_t> q(512);
  std::vector<float> scale(2);
  std::vector<std::int16_t> sums(32);
  quantize_int8_blocks(x.data(), 512, 256, q.data(), scale.data(), sums.data());
  EXPECT_EQ(q[5], -127);
  EXPECT_FLOAT_EQ(scale[0], 100.0f / 127.0f);
  for (int g = 0; g < 32; ++g) {
    int s = 0;
    for (int j = 0; j < 16; ++j) s += q[16 * g + j];
    EXPECT_EQ(sums[g], s);
  }
  for (int i = 0; i < 512; ++i) {
    EXPECT_GE(q[i], -127);
    EXPECT_NEAR(q[i] * scale[i / 256], x[i], scale[i / 256] * 0.5f + 1e-6f);
  }
}

TEST(QuantizeTest, RejectsFormatsItCannotEncodeAndPartialBlocks) {
  std::vector<float> x(256);
  std::vector<std::uint8_t> q(1024);
  EXPECT_THROW(quantize_row(DType::kQ3_K, x.data(), q.data(), 256), Error);
  EXPECT_THROW(quantize_row(DType::kQ4_K, x.data(), q.data(), 255), Error);
  EXPECT_THROW(dequantize_row(DType::kBF16, q.data(), x.data(), 256), Error);
}

}  // namespace
}  // namespace whale
