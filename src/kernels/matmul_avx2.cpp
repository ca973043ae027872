// matmul for AVX2 + FMA + F16C. Compiled with those flags; chosen at run time only where
// cpu_features() reports them.
#include <immintrin.h>

#include "kernels/matmul_isa.h"
#include "kernels/tile_dispatch.h"

namespace whale::isa_avx2 {
namespace {

using Vec = __m256;
constexpr long kWidth = 8;

inline Vec zero() {
  return _mm256_setzero_ps();
}
inline Vec set1(float f) {
  return _mm256_set1_ps(f);
}
inline Vec load_f32(const float* p) {
  return _mm256_loadu_ps(p);
}
inline void store(float* p, Vec v) {
  _mm256_storeu_ps(p, v);
}
inline Vec add(Vec a, Vec b) {
  return _mm256_add_ps(a, b);
}
inline Vec mul(Vec a, Vec b) {
  return _mm256_mul_ps(a, b);
}
inline Vec fmadd(Vec a, Vec b, Vec c) {
  return _mm256_fmadd_ps(a, b, c);
}
inline float hsum(Vec v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline Vec load_bf16(const unsigned short* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline Vec load_f16(const unsigned short* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// See matmul_avx512.cpp: e4m3 bits placed into an f16 give the value / 2^8.
inline Vec load_fp8_raw(const unsigned char* p) {
  const __m128i b = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m128i magnitude = _mm_and_si128(b, _mm_set1_epi16(0x7f));
  const __m128i sign = _mm_slli_epi16(_mm_and_si128(b, _mm_set1_epi16(0x80)), 8);
  __m128i h = _mm_or_si128(sign, _mm_slli_epi16(magnitude, 7));
  const __m128i nan = _mm_cmpeq_epi16(magnitude, _mm_set1_epi16(0x7f));
  h = _mm_blendv_epi8(h, _mm_set1_epi16(0x7e00), nan);
  return _mm256_cvtph_ps(h);
}

#include "kernels/matmul_scalar_weight-inl.h"
#include "kernels/matmul_simd-inl.h"

}  // namespace

#include "kernels/matmul_entries-inl.h"

}  // namespace whale::isa_avx2
