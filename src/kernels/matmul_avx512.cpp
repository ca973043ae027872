// matmul for AVX-512 (F, BW, VL, DQ) + F16C + FMA. Compiled with those flags; chosen at run
// time only where cpu_features() reports them.
#include <immintrin.h>

#include "kernels/matmul_isa.h"
#include "kernels/tile_dispatch.h"

// GCC 12's AVX-512 headers build some conversions from _mm256_undefined_*(), which its
// -Wuninitialized reports inside the header; the values are never read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace whale::isa_avx512 {
namespace {

using Vec = __m512;
constexpr long kWidth = 16;

inline Vec zero() {
  return _mm512_setzero_ps();
}
inline Vec set1(float f) {
  return _mm512_set1_ps(f);
}
inline Vec load_f32(const float* p) {
  return _mm512_loadu_ps(p);
}
inline void store(float* p, Vec v) {
  _mm512_storeu_ps(p, v);
}
inline Vec add(Vec a, Vec b) {
  return _mm512_add_ps(a, b);
}
inline Vec mul(Vec a, Vec b) {
  return _mm512_mul_ps(a, b);
}
inline Vec fmadd(Vec a, Vec b, Vec c) {
  return _mm512_fmadd_ps(a, b, c);
}
inline float hsum(Vec v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline Vec load_bf16(const unsigned short* p) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline Vec load_f16(const unsigned short* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// e4m3fn -> the f16 with the same sign, exponent bits and mantissa bits, which is the e4m3
// value / 2^8 (bias 15 instead of 7), subnormals included; 0x7F/0xFF become NaN.
inline Vec load_fp8_raw(const unsigned char* p) {
  const __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i magnitude = _mm256_and_si256(b, _mm256_set1_epi16(0x7f));
  const __m256i sign = _mm256_slli_epi16(_mm256_and_si256(b, _mm256_set1_epi16(0x80)), 8);
  __m256i h = _mm256_or_si256(sign, _mm256_slli_epi16(magnitude, 7));
  const __m256i nan = _mm256_cmpeq_epi16(magnitude, _mm256_set1_epi16(0x7f));
  h = _mm256_blendv_epi8(h, _mm256_set1_epi16(0x7e00), nan);
  return _mm512_cvtph_ps(h);
}

#include "kernels/matmul_scalar_weight-inl.h"
#include "kernels/matmul_simd-inl.h"

}  // namespace

#include "kernels/matmul_entries-inl.h"

}  // namespace whale::isa_avx512
