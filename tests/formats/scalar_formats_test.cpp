// The scalar conversions of formats/scalar_formats.h against independent definitions:
// FP8 E4M3 (docs section 10.1) for all 256 codes, BF16 and F16 round-to-nearest-even.
#include "formats/scalar_formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace whale {
namespace {

// e4m3fn straight from the bit layout, in double.
double e4m3_reference(int b) {
  const int e = (b >> 3) & 0xf, m = b & 7;
  const double sign = (b & 0x80) ? -1.0 : 1.0;
  if ((b & 0x7f) == 0x7f) return std::numeric_limits<double>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(m / 8.0, -6);
  return sign * std::ldexp(1.0 + m / 8.0, e - 7);
}

TEST(Fp8E4M3, TableMatchesTheBitLayoutForAll256Codes) {
  const auto& table = fp8_e4m3_table();
  for (int b = 0; b < 256; ++b) {
    const double want = e4m3_reference(b);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(table[b])) << b;
    } else {
      EXPECT_EQ(static_cast<double>(table[b]), want) << "code " << b;
      EXPECT_EQ(std::signbit(table[b]), (b & 0x80) != 0) << "code " << b;
    }
    EXPECT_EQ(std::bit_cast<std::uint32_t>(table[b]),
              std::bit_cast<std::uint32_t>(fp8_e4m3_to_f32(static_cast<std::uint8_t>(b))));
  }
}

TEST(Fp8E4M3, LandmarkCodes) {
  EXPECT_EQ(fp8_e4m3_to_f32(0x7e), 448.0f);  // max finite
  EXPECT_EQ(fp8_e4m3_to_f32(0xfe), -448.0f);
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(0x7f)));
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(0xff)));
  EXPECT_EQ(fp8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));      // min subnormal 0.001953125
  EXPECT_EQ(fp8_e4m3_to_f32(0x07), 7 * std::ldexp(1.0f, -9));  // max subnormal
  EXPECT_EQ(fp8_e4m3_to_f32(0x08), std::ldexp(1.0f, -6));      // min normal 0.015625
  EXPECT_EQ(fp8_e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0xb8), -1.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x81), -std::ldexp(1.0f, -9));
  const float zero = fp8_e4m3_to_f32(0x00), minus_zero = fp8_e4m3_to_f32(0x80);
  EXPECT_EQ(zero, 0.0f);
  EXPECT_FALSE(std::signbit(zero));
  EXPECT_EQ(minus_zero, 0.0f);
  EXPECT_TRUE(std::signbit(minus_zero));
  // No infinities anywhere in the format.
  for (int b = 0; b < 256; ++b)
    EXPECT_FALSE(std::isinf(fp8_e4m3_to_f32(static_cast<std::uint8_t>(b))));
}

TEST(Fp8E4M3, PositiveCodesIncreaseWithTheCode) {
  for (int b = 1; b <= 0x7e; ++b)
    EXPECT_LT(fp8_e4m3_to_f32(static_cast<std::uint8_t>(b - 1)),
              fp8_e4m3_to_f32(static_cast<std::uint8_t>(b)));
}

TEST(Fp8E4M3, EncodingRoundTripsEveryFiniteCode) {
  for (int b = 0; b < 256; ++b) {
    if ((b & 0x7f) == 0x7f) continue;
    EXPECT_EQ(f32_to_fp8_e4m3(fp8_e4m3_to_f32(static_cast<std::uint8_t>(b))), b) << "code " << b;
  }
}

TEST(Fp8E4M3, EncodingRoundsToNearestWithTiesToEven) {
  const auto enc = [](double v) { return f32_to_fp8_e4m3(static_cast<float>(v)); };
  const double sub = std::ldexp(1.0, -9);
  EXPECT_EQ(enc(0.5 * sub), 0x00);  // tie between 0 and 0x01: even is 0
  EXPECT_EQ(enc(0.51 * sub), 0x01);
  EXPECT_EQ(enc(1.5 * sub), 0x02);  // tie between 0x01 and 0x02: 0x02
  EXPECT_EQ(enc(2.5 * sub), 0x02);  // tie between 0x02 and 0x03: 0x02
  EXPECT_EQ(enc(7.5 * sub), 0x08);  // tie between max subnormal and min normal
  EXPECT_EQ(enc(1.0625), 0x38);     // tie between 1 and 1.125: 1
  EXPECT_EQ(enc(1.1875), 0x3a);     // tie between 1.125 and 1.25: 1.25
  EXPECT_EQ(enc(1.06), 0x38);
  EXPECT_EQ(enc(1.07), 0x39);
  EXPECT_EQ(enc(-1.1875), 0xba);
  EXPECT_EQ(enc(432.0), 0x7e);  // tie between 416 and 448: 448 (even mantissa)
  EXPECT_EQ(enc(431.0), 0x7d);
  // Nearest in general: every float halfway-plus-epsilon goes to the closer code.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-460.0f, 460.0f);
  for (int i = 0; i < 20000; ++i) {
    const float v = dist(rng);
    const std::uint8_t code = f32_to_fp8_e4m3(v);
    const double got = std::abs(v - e4m3_reference(code));
    for (int b = 0; b < 256; ++b) {
      if ((b & 0x7f) != 0x7f) {
        ASSERT_LE(got, std::abs(v - e4m3_reference(b))) << v;
      }
    }
  }
}

TEST(Fp8E4M3, EncodingSaturatesAndKeepsNaN) {
  EXPECT_EQ(f32_to_fp8_e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(449.0f), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(1e30f), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(-1e30f), 0xfe);
  EXPECT_EQ(f32_to_fp8_e4m3(std::numeric_limits<float>::infinity()), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(-std::numeric_limits<float>::infinity()), 0xfe);
  EXPECT_EQ(f32_to_fp8_e4m3(std::numeric_limits<float>::quiet_NaN()), 0x7f);
  EXPECT_EQ(f32_to_fp8_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_fp8_e4m3(1e-30f), 0x00);
  EXPECT_EQ(f32_to_fp8_e4m3(-1e-30f), 0x80);
}

// --- bfloat16 ------------------------------------------------------------------------------

// Nearest bfloat16 by comparing the two candidates in double; ties to the even one.
std::uint16_t bf16_reference(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t lo = static_cast<std::uint16_t>(u >> 16);
  const std::uint16_t hi = static_cast<std::uint16_t>(lo + 1);
  const double dlo = std::abs(static_cast<double>(f) - bf16_to_f32(lo));
  const double dhi = std::abs(static_cast<double>(f) - bf16_to_f32(hi));
  if (std::isinf(
          bf16_to_f32(hi))) {  // overflow: RNE rounds past max to infinity at the halfway point
    const double max = bf16_to_f32(lo);
    const double half_ulp = std::ldexp(1.0, 127 - 8);
    return std::abs(static_cast<double>(f)) >= std::abs(max) + half_ulp ? hi : lo;
  }
  if (dlo < dhi) return lo;
  if (dhi < dlo) return hi;
  return (lo & 1) ? hi : lo;
}

TEST(Bf16, WidensExactlyToTheTopHalfOfAFloat) {
  for (std::uint32_t h = 0; h < 65536; ++h)
    EXPECT_EQ(std::bit_cast<std::uint32_t>(bf16_to_f32(static_cast<std::uint16_t>(h))), h << 16);
}

TEST(Bf16, RoundTripsEveryNonNaNValue) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_bf16(f), h);
  }
}

TEST(Bf16, RoundsToNearestEven) {
  // 1.0 has a bf16 ulp of 2^-7: 1 + 2^-8 is a tie.
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // to even 1.0
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // to even 1+2^-6
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)),
            0x3f81);  // past the tie
  EXPECT_EQ(f32_to_bf16(-(1.0f + std::ldexp(1.0f, -8))), 0xbf80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to infinity
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    if (!std::isfinite(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), bf16_reference(f)) << std::hexfloat << f;
  }
}

TEST(Bf16, NaNStaysNaNEvenWhenOnlyLowMantissaBitsAreSet) {
  for (std::uint32_t u : {0x7fc00000u, 0x7f800001u, 0x7f80ffffu, 0xff800001u, 0x7fffffffu}) {
    const std::uint16_t h = f32_to_bf16(std::bit_cast<float>(u));
    EXPECT_TRUE(std::isnan(bf16_to_f32(h))) << std::hex << u;
    EXPECT_EQ(h & 0x8000, (u >> 16) & 0x8000);  // sign kept
  }
}

// --- IEEE binary16 -------------------------------------------------------------------------

double f16_reference(std::uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (e == 0) return sign * std::ldexp(m, -24);
  if (e == 31)
    return m == 0 ? sign * std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  return sign * std::ldexp(1024 + m, e - 25);
}

TEST(F16, WidensEveryCodeExactly) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const double want = f16_reference(static_cast<std::uint16_t>(h));
    const float got = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
    } else {
      EXPECT_EQ(static_cast<double>(got), want) << h;
      EXPECT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;
    }
  }
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // min subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // min normal
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isinf(f16_to_f32(0xfc00)) && f16_to_f32(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));
}

TEST(F16, RoundTripsEveryNonNaNValue) {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), h) << h;
  }
}

TEST(F16, NarrowsToTheNearestWithTiesToEvenIncludingSubnormals) {
  const float sub = std::ldexp(1.0f, -24);
  EXPECT_EQ(f32_to_f16(0.5f * sub), 0x0000);  // tie with 0
  EXPECT_EQ(f32_to_f16(0.75f * sub), 0x0001);
  EXPECT_EQ(f32_to_f16(1.5f * sub), 0x0002);  // tie: even
  EXPECT_EQ(f32_to_f16(2.5f * sub), 0x0002);
  EXPECT_EQ(f32_to_f16(-1.5f * sub), 0x8002);
  EXPECT_EQ(f32_to_f16(1023.5f * sub), 0x0400);                 // rounds up into the normal range
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: even 1.0
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie: even
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // halfway to 2^16 rounds to infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);

  // Against the nearest of all finite halves, on random floats inside the f16 range.
  std::vector<double> halves;  // non-negative finite values, ascending with the code
  for (std::uint32_t h = 0; h < 0x7c00; ++h)
    halves.push_back(f16_reference(static_cast<std::uint16_t>(h)));
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> exponent(-30, 16);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  for (int i = 0; i < 200000; ++i) {
    const float a = std::ldexp(mantissa(rng), exponent(rng));
    if (a >= 65520.0f) continue;
    const auto it = std::lower_bound(halves.begin(), halves.end(), static_cast<double>(a));
    std::uint32_t want = static_cast<std::uint32_t>(it - halves.begin());
    if (it == halves.end()) {
      want = 0x7bff;  // between 65504 and the rounding point to infinity
    } else if (*it != a) {
      const std::uint32_t hi = want, lo = want - 1;
      const double dlo = a - halves[lo], dhi = halves[hi] - a;
      want = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
    }
    ASSERT_EQ(f32_to_f16(a), want) << std::hexfloat << a;
  }
}

}  // namespace
}  // namespace whale
