// f32_to_fp8_e4m3 (bit arithmetic) against its definition: the nearest of the 127 finite
// non-negative e4m3fn values, ties to the even code, saturating at 448, NaN -> 0x7F.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "formats/scalar_formats.h"

namespace whale {
namespace {

std::uint8_t nearest_e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  const std::uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  const float a = std::fabs(f);
  if (a >= 448.0f) return sign | 0x7e;
  const auto& value = fp8_e4m3_table();
  int best = 0;
  for (int code = 1; code <= 0x7e; ++code) {
    const float d = std::fabs(value[code] - a), d_best = std::fabs(value[best] - a);
    if (d < d_best || (d == d_best && code % 2 == 0)) best = code;
  }
  return sign | static_cast<std::uint8_t>(best);
}

void expect_matches(float f) {
  ASSERT_EQ(f32_to_fp8_e4m3(f), nearest_e4m3(f))
      << f << " (bits 0x" << std::hex << std::bit_cast<std::uint32_t>(f) << ")";
}

TEST(Fp8EncodeTest, EveryMidpointAndItsNeighboursRoundLikeTheDefinition) {
  for (int code = 0; code < 0x7e; ++code) {
    const float lo = fp8_e4m3_to_f32(static_cast<std::uint8_t>(code));
    const float hi = fp8_e4m3_to_f32(static_cast<std::uint8_t>(code + 1));
    const float mid = (lo + hi) / 2;  // exact: both have few significant bits
    for (const float x : {lo, hi, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1000.0f),
                          std::nextafter(lo, 1000.0f), std::nextafter(hi, 0.0f)}) {
      expect_matches(x);
      expect_matches(-x);
    }
  }
}

TEST(Fp8EncodeTest, SampledFloatsUpTo480RoundLikeTheDefinition) {
  const std::uint32_t end = std::bit_cast<std::uint32_t>(480.0f);
  for (std::uint32_t bits = 0; bits < end; bits += 4099) expect_matches(std::bit_cast<float>(bits));
}

TEST(Fp8EncodeTest, SpecialValues) {
  EXPECT_EQ(f32_to_fp8_e4m3(0.0f), 0x00);
  EXPECT_EQ(f32_to_fp8_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_fp8_e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(-1e30f), 0xfe);
  EXPECT_EQ(f32_to_fp8_e4m3(std::numeric_limits<float>::infinity()), 0x7e);
  EXPECT_EQ(f32_to_fp8_e4m3(std::numeric_limits<float>::quiet_NaN()), 0x7f);
  EXPECT_EQ(f32_to_fp8_e4m3(std::numeric_limits<float>::denorm_min()), 0x00);
  EXPECT_EQ(f32_to_fp8_e4m3(0x1p-9f), 0x01);  // the smallest subnormal code
  EXPECT_EQ(f32_to_fp8_e4m3(0x1p-6f), 0x08);  // the smallest normal code
}

}  // namespace
}  // namespace whale
