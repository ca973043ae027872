// GGML's quantized block layouts, byte for byte as GGUF files store them (ggml-common.h), so
// a GGUF tensor is used in place. Plain structs and bit helpers only: the SIMD kernels include
// this header, and nothing here may pull in a standard-library template (see
// kernels/matmul_simd-inl.h).
#pragma once

#include <cstdint>

namespace whale {

constexpr int kQK = 32;     // values per block of the 32-value formats
constexpr int kQK_K = 256;  // values per super-block of the k-quants

// x = d * q
struct BlockQ4_0 {
  std::uint16_t d;      // f16
  std::uint8_t qs[16];  // value j: low nibble of qs[j]; value j+16: high nibble; minus 8
};
// x = d * q + m
struct BlockQ4_1 {
  std::uint16_t d, m;   // f16
  std::uint8_t qs[16];  // as Q4_0, unsigned
};
struct BlockQ5_0 {
  std::uint16_t d;      // f16
  std::uint8_t qh[4];   // little-endian u32: bit j is the fifth bit of value j
  std::uint8_t qs[16];  // low four bits as Q4_0; value minus 16
};
struct BlockQ5_1 {
  std::uint16_t d, m;
  std::uint8_t qh[4];
  std::uint8_t qs[16];
};
struct BlockQ8_0 {
  std::uint16_t d;  // f16
  std::int8_t qs[32];
};
struct BlockQ8_1 {
  std::uint16_t d, s;  // f16 scale, f16 d * sum(qs)
  std::int8_t qs[32];
};
// 16 sub-blocks of 16: x = d * (scales & 15) * q - dmin * (scales >> 4), q 2 bits.
struct BlockQ2_K {
  std::uint8_t scales[16];
  std::uint8_t qs[64];
  std::uint16_t d, dmin;
};
// 16 sub-blocks of 16: x = d * (s - 32) * (q - 4 * !high_bit), q 2 low bits, s 6 bits.
struct BlockQ3_K {
  std::uint8_t hmask[32];
  std::uint8_t qs[64];
  std::uint8_t scales[12];
  std::uint16_t d;
};
// 8 sub-blocks of 32: x = d * sc * q - dmin * m, 6-bit sc and m packed in `scales`.
struct BlockQ4_K {
  std::uint16_t d, dmin;
  std::uint8_t scales[12];
  std::uint8_t qs[128];
};
struct BlockQ5_K {
  std::uint16_t d, dmin;
  std::uint8_t scales[12];
  std::uint8_t qh[32];
  std::uint8_t qs[128];
};
// 16 sub-blocks of 16: x = d * scales * (q - 32), q 6 bits split into ql (4) and qh (2).
struct BlockQ6_K {
  std::uint8_t ql[128];
  std::uint8_t qh[64];
  std::int8_t scales[16];
  std::uint16_t d;
};
struct BlockQ8_K {
  float d;
  std::int8_t qs[256];
  std::int16_t bsums[16];  // sums of each 16 consecutive qs
};
struct BlockIQ4_NL {
  std::uint16_t d;
  std::uint8_t qs[16];  // indices into kIq4nlValues, nibbles as Q4_0
};
struct BlockIQ4_XS {
  std::uint16_t d;
  std::uint16_t scales_h;  // 2 high bits of each of 8 six-bit scales
  std::uint8_t scales_l[4];
  std::uint8_t qs[128];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18 && sizeof(BlockIQ4_XS) == 136);

// The IQ4_NL / IQ4_XS code book.
inline constexpr std::int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                 1,    13,   25,  38,  53,  69,  89,  113};

// Helpers are static: a per-ISA translation unit must never lend its (wider-ISA) copy of an
// inline function to baseline code at link time.

// IEEE binary16 -> float32, exact (the same value F16C gives).
static inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t magnitude = h & 0x7fffu;
  std::uint32_t bits;
  if (magnitude >= 0x7c00u) {
    bits = sign | 0x7f800000u | ((magnitude & 0x3ffu) << 13);
  } else if (magnitude >= 0x400u) {
    bits = sign | ((magnitude << 13) + (112u << 23));
  } else {  // zero or subnormal: magnitude * 2^-24, exact in float32
    float f = static_cast<float>(magnitude) * 5.9604644775390625e-08f;
    __builtin_memcpy(&bits, &f, 4);
    bits |= sign;
  }
  float out;
  __builtin_memcpy(&out, &bits, 4);
  return out;
}

// Sub-block j (0..7) of a Q4_K / Q5_K super-block: its 6-bit scale and min. Scales 0-3 and
// mins 0-3 sit in the low six bits of bytes 0-3 and 4-7; for 4-7 the low four bits come from
// byte j+4 (scale low nibble, min high nibble) and the top two from the spare bits of bytes
// j-4 (scale) and j (min).
static inline void k_scale_min(int j, const std::uint8_t* s, int* scale, int* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// The 6-bit code (0..63, the value being d * scale * (code - 32)) of value 32k + l (k < 4,
// l < 32) of a Q6_K half super-block: its low four bits are the low (k < 2) or high nibble of
// ql[32 (k % 2) + l], its top two bits 2k, 2k+1 of qh[l]. ql and qh point at the half's bytes.
static inline int q6_k_code(const std::uint8_t* ql, const std::uint8_t* qh, int k, int l) {
  const std::uint8_t low_byte = ql[32 * (k % 2) + l];
  return (k < 2 ? low_byte & 0xf : low_byte >> 4) | (((qh[l] >> (2 * k)) & 3) << 4);
}

}  // namespace whale
