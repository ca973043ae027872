#include "kernels/ops.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/dot.h"

// GCC 12's AVX-512 headers build some operations from undefined vectors, which
// -Wmaybe-uninitialized reports inside the header; the values are never read.
#if !defined(__clang__)  // a GCC-only warning; clang rejects the unknown name under -Werror
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace whale {

#include "kernels/vector_exp-inl.h"

namespace {

// The SIMD paths compute silu(g) with e = e^-|g|, which never overflows: g / (1 + e) for
// g >= 0, g e / (1 + e) below (the same value as g / (1 + e^-g)).
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) void silu_mul_avx512(float* gate,
                                                                                   const float* up,
                                                                                   std::int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = vector_exp::exp_avx512(_mm512_or_ps(g, _mm512_set1_ps(-0.0f)));  // -|g|
    const __mmask16 negative = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_mul_ps(g, negative, g, e);
    const __m512 silu = _mm512_div_ps(num, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

__attribute__((target("avx2,fma"))) __m256 silu_avx2(__m256 g) {
  const __m256 e = vector_exp::exp_avx2(_mm256_or_ps(g, _mm256_set1_ps(-0.0f)));  // -|g|
  const __m256 negative = _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 num = _mm256_blendv_ps(g, _mm256_mul_ps(g, e), negative);
  return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

__attribute__((target("avx2,fma"))) void silu_mul_avx2(float* gate, const float* up,
                                                       std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(gate + i,
                     _mm256_mul_ps(silu_avx2(_mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
  if (i < n) {
    float g[8] = {}, u[8] = {};
    std::copy(gate + i, gate + n, g);
    std::copy(up + i, up + n, u);
    _mm256_storeu_ps(g, _mm256_mul_ps(silu_avx2(_mm256_loadu_ps(g)), _mm256_loadu_ps(u)));
    std::copy(g, g + (n - i), gate + i);
  }
}

}  // namespace

void rms_norm(const float* x, const float* weight, std::int64_t n, double eps, float* out) {
  double sum = 0.0;  // double: the mean of squares is where float32 loses the most
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
  for (std::int64_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

void silu_mul_isa(Isa isa, float* gate, const float* up, std::int64_t n) {
  if (isa == Isa::kAvx512 && isa_supported(isa)) return silu_mul_avx512(gate, up, n);
  if (isa != Isa::kScalar && isa_supported(Isa::kAvx2)) return silu_mul_avx2(gate, up, n);
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void silu_mul(float* gate, const float* up, std::int64_t n) {
  static const Isa isa = active_isa();
  silu_mul_isa(isa, gate, up, n);
}

void softmax(float* x, std::int64_t n) {
  if (n <= 0) return;
  const float max = *std::max_element(x, x + n);
  exp_shifted(x, n, max);
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i];
  const float inv = static_cast<float>(1.0 / sum);
  for (std::int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace whale
