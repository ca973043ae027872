#include "formats/scalar_formats.h"

#include <algorithm>
#include <limits>

namespace whale {

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1u;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? std::numeric_limits<float>::infinity()
                          : std::numeric_limits<float>::quiet_NaN();
  } else {
    value = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  return sign ? -value : value;
}

std::uint16_t f32_to_f16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00u;
  if (a >= 65520.0f) return sign | 0x7c00u;  // rounds to infinity
  if (a < 6.103515625e-05f) {                 // subnormal range: multiples of 2^-24
    const float q = std::nearbyint(a * 16777216.0f);
    return sign | static_cast<std::uint16_t>(q);
  }
  int e;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  // 11 significant bits: scale mantissa to [1024, 2048).
  float q = std::nearbyint(m * 2048.0f);
  if (q == 2048.0f) {
    q = 1024.0f;
    ++e;
  }
  const std::uint32_t exponent = static_cast<std::uint32_t>(e - 1 + 15);
  if (exponent >= 31) return sign | 0x7c00u;
  return sign | static_cast<std::uint16_t>((exponent << 10) | (static_cast<std::uint32_t>(q) - 1024u));
}

float fp8_e4m3_to_f32(std::uint8_t b) {
  const int exponent = (b >> 3) & 0xf;
  const int mantissa = b & 7;
  const float sign = (b & 0x80) ? -1.0f : 1.0f;
  if ((b & 0x7f) == 0x7f) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
}

const std::array<float, 256>& fp8_e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = fp8_e4m3_to_f32(static_cast<std::uint8_t>(i));
    return t;
  }();
  return table;
}

std::uint8_t f32_to_fp8_e4m3(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint8_t sign = static_cast<std::uint8_t>((u >> 24) & 0x80u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return 0x7f;          // NaN
  if (a >= 0x43e00000u) return sign | 0x7e;  // >= 448 (and infinity) saturate
  if (a < 0x3c800000u) {                     // below 2^-6: subnormal codes, multiples of 2^-9
    const float q = std::nearbyint(std::bit_cast<float>(a) * 512.0f);  // 0..8, ties to even
    return sign | static_cast<std::uint8_t>(q);
  }
  // Normal: keep 3 of the 23 mantissa bits, rounding to nearest even; a carry moves into the
  // exponent. Rebias the exponent from 127 to 7.
  const std::uint32_t rounded = a + 0x7ffffu + ((a >> 20) & 1u);
  const std::uint32_t code = (rounded >> 20) - ((127u - 7u) << 3);
  return sign | static_cast<std::uint8_t>(std::min<std::uint32_t>(code, 0x7e));
}

}  // namespace whale
