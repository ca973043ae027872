// Integer kernels for AVX-512 F/BW/VL/DQ (quant_matmul_avx512-inl.h).
#include <immintrin.h>

#include "formats/ggml_blocks.h"
#include "formats/ggml_quants.h"
#include "kernels/matmul_isa.h"
#include "kernels/quant_matmul.h"
#include "kernels/tile_dispatch.h"

// See matmul_avx512.cpp: GCC 12's AVX-512 headers trip -Wuninitialized inside the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace whale::isa_avx512 {
namespace {

namespace plain {
#define WHALE_PAIR_DOT(acc, a, b) _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
#include "kernels/quant_matmul_avx512-inl.h"
#include "kernels/quant_panel_avx512-inl.h"
#undef WHALE_PAIR_DOT
}  // namespace plain

// The VNNI copy is compiled for AVX512_VNNI alone (this file's flags leave it out, so that
// nothing else here may use it): GCC by target pragma, clang by a target attribute on every
// function of the copy.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512vnni")
#endif
namespace vnni {
#define WHALE_PAIR_DOT(acc, a, b) _mm512_dpwssd_epi32(acc, a, b)
#include "kernels/quant_matmul_avx512-inl.h"
#include "kernels/quant_panel_avx512-inl.h"
#undef WHALE_PAIR_DOT
}  // namespace vnni
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

}  // namespace

void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride, bool use_vnni) {
  if (use_vnni)
    vnni::int8_rows(w, row_begin, row_end, a, y, y_stride);
  else
    plain::int8_rows(w, row_begin, row_end, a, y, y_stride);
}

void panel_rows(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride,
                bool use_vnni) {
  if (use_vnni)
    vnni::panel_rows(w, a, y, y_stride);
  else
    plain::panel_rows(w, a, y, y_stride);
}

namespace {

// Activations as int16 blocks of 32 (quantize_int16_blocks' float operations per value: max|x|
// on the bit patterns, x * inv rounded by the 1.5 * 2^23 trick, clamped), so the same codes;
// store(b, codes, scale, code sum) takes each block's 32 codes as one register.
template <typename Store>
inline void int16_blocks(const float* x, long cols, Store store) {
  const __m512i abs_bits = _mm512_set1_epi32(0x7fffffff);
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  const __m512 lim = _mm512_set1_ps(32767.0f), neg_lim = _mm512_set1_ps(-32767.0f);
  for (long b = 0; b < cols / kQK; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + kQK * b), v1 = _mm512_loadu_ps(x + kQK * b + 16);
    const int top = _mm512_reduce_max_epi32(
        _mm512_max_epi32(_mm512_and_si512(_mm512_castps_si512(v0), abs_bits),
                         _mm512_and_si512(_mm512_castps_si512(v1), abs_bits)));
    if (top >= 0x7f800000) {  // NaN or infinity: the scale carries it
      store(b, _mm512_setzero_si512(), __builtin_nanf(""), 0);
      continue;
    }
    float amax;
    __builtin_memcpy(&amax, &top, 4);
    const __m512 inv = _mm512_set1_ps(amax >= kTinyBlock ? 32767.0f / amax : 0.0f);
    const auto code = [&](__m512 v) {
      const __m512 r = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(v, inv), magic), magic);
      return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(r, neg_lim), lim));
    };
    const __m512i q0 = code(v0), q1 = code(v1);
    store(b,
          _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(q0)),
                             _mm512_cvtepi32_epi16(q1), 1),
          amax / 32767.0f, _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)));
  }
}

}  // namespace

void quantize_panel_token(const float* x, long cols, short* panel, float* scales, float* sums,
                          long lane) {
  int* words = reinterpret_cast<int*>(panel) + lane;  // pair k of the token at words[k * 32]
  int16_blocks(x, cols, [&](long b, __m512i codes, float scale, int sum) {
    scales[b * kTokenPanel + lane] = scale;
    sums[b * kTokenPanel + lane] = static_cast<float>(sum);
    int out[16];
    _mm512_storeu_si512(out, codes);
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) words[(16 * b + k) * kTokenPanel] = out[k];
  });
}

void quantize_int16_row(const float* x, long cols, short* q, float* scales) {
  int16_blocks(x, cols, [&](long b, __m512i codes, float scale, int) {
    _mm512_storeu_si512(q + kQK * b, codes);
    scales[b] = scale;
  });
}

void quantize_int8_row(const float* x, long cols, signed char* q, float* scales, short* sums16) {
  const __m512i abs_bits = _mm512_set1_epi32(0x7fffffff);
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  const __m512 lim = _mm512_set1_ps(127.0f), neg_lim = _mm512_set1_ps(-127.0f);
  for (long b = 0; b < cols / kQK_K; ++b) {
    const float* xb = x + kQK_K * b;
    signed char* qb = q + kQK_K * b;
    short* sb = sums16 + kQK_K / 16 * b;
    __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      m = _mm512_max_epi32(
          m, _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(xb + 16 * i)), abs_bits));
    const int top = _mm512_reduce_max_epi32(m);
    if (top >= 0x7f800000) {  // NaN or infinity: the scale carries it, the codes are zero
      scales[b] = __builtin_nanf("");
      for (int i = 0; i < 4; ++i) _mm512_storeu_si512(qb + 64 * i, _mm512_setzero_si512());
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sb), _mm256_setzero_si256());
      continue;
    }
    float amax;
    __builtin_memcpy(&amax, &top, 4);
    scales[b] = amax / 127.0f;
    const __m512 inv = _mm512_set1_ps(amax >= kTinyBlock ? 127.0f / amax : 0.0f);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {  // 16 values: one partial sum
      const __m512 r = _mm512_sub_ps(
          _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(xb + 16 * i), inv), magic), magic);
      const __m512i c = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(r, neg_lim), lim));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qb + 16 * i), _mm512_cvtepi32_epi8(c));
      sb[i] = static_cast<short>(_mm512_reduce_add_epi32(c));
    }
  }
}

}  // namespace whale::isa_avx512
