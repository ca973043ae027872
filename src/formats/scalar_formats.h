// Scalar conversions between float and the 16- and 8-bit stored formats. These are the
// reference twins of the SIMD kernels and the ground truth for their tests.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace whale {

// bfloat16: the top 16 bits of an IEEE float32.
inline float bf16_to_f32(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t{h} << 16); }

// Round to nearest even, as PyTorch does; NaN stays a (quiet) NaN.
inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

// IEEE binary16.
float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_f16(float f);

// float8_e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; 0x7F/0xFF NaN;
// max finite 448 (docs/deepseek-v2-v3.md section 10.1).
float fp8_e4m3_to_f32(std::uint8_t b);

// The 256-entry decode table, built once.
const std::array<float, 256>& fp8_e4m3_table();

// Round to the nearest e4m3fn value (ties to even), saturating to +-448; NaN maps to 0x7F.
std::uint8_t f32_to_fp8_e4m3(float f);

}  // namespace whale
