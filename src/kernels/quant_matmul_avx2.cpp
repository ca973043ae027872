// int8 kernels for AVX2 (quant_matmul.h): vpmaddubsw (unsigned x signed bytes -> int16 pairs)
// then vpmaddwd into int32. Compiled with -mavx2 -mfma -mf16c; run only where cpu_features()
// reports them.
#include <immintrin.h>

#include "formats/ggml_blocks.h"
#include "kernels/matmul_isa.h"
#include "kernels/quant_matmul.h"

namespace whale::isa_avx2 {
namespace {

inline int hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The fixed reduction of quant_matmul.h: lanes k and k+4 first, then pairs, then the rest.
inline float hsum_ps(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

struct Q8_0Kernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  static inline void block(const BlockQ8_0& w, long b, const signed char* const* xq,
                           const float* const* xd, __m256* acc) {
    const __m256i q = load256(w.qs);
    const __m256i abs_q = _mm256_sign_epi8(q, q);  // -128 stays 0x80 = 128 unsigned: exact
    const float dw = _cvtsh_ss(w.d);
    for (int t = 0; t < N; ++t) {
      const __m256i x = _mm256_sign_epi8(load256(xq[t] + 32 * b), q);
      const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(abs_q, x), _mm256_set1_epi16(1));
      acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(dw * xd[t][b])));
    }
  }

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ8_0*>(row);
    const signed char* xq[N];
    const float* xd[N];
    __m256 even[N], odd[N];
    for (int t = 0; t < N; ++t) {
      xq[t] = a.q + (t0 + t) * a.cols;
      xd[t] = a.scale + (t0 + t) * nb;
      even[t] = _mm256_setzero_ps();
      odd[t] = _mm256_setzero_ps();
    }
    long b = 0;
    for (; b + 2 <= nb; b += 2) {
      block<N>(w[b], b, xq, xd, even);
      block<N>(w[b + 1], b + 1, xq, xd, odd);
    }
    if (b < nb) block<N>(w[b], b, xq, xd, even);
    for (int t = 0; t < N; ++t) out[t] = hsum_ps(_mm256_add_ps(even[t], odd[t]));
  }
};

struct Q4KKernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ4_K*>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    float acc[N];
    for (int t = 0; t < N; ++t) acc[t] = 0.0f;
    for (long b = 0; b < nb; ++b) {
      int sc[8], mn[8];
      for (int j = 0; j < 8; ++j) k_scale_min(j, w[b].scales, &sc[j], &mn[j]);
      __m256i isum[N];
      for (int t = 0; t < N; ++t) isum[t] = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        const __m256i q = load256(w[b].qs + 32 * k);
        const __m256i lo = _mm256_and_si256(q, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        const __m256i s_lo = _mm256_set1_epi16(static_cast<short>(sc[2 * k]));
        const __m256i s_hi = _mm256_set1_epi16(static_cast<short>(sc[2 * k + 1]));
        for (int t = 0; t < N; ++t) {
          const signed char* x = a.q + (t0 + t) * a.cols + kQK_K * b + 64 * k;
          const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(x)), s_lo);
          const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(x + 32)), s_hi);
          isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(p_lo, p_hi));
        }
      }
      const float d = _cvtsh_ss(w[b].d), dmin = _cvtsh_ss(w[b].dmin);
      for (int t = 0; t < N; ++t) {
        const short* xs = a.sums16 + (t0 + t) * (a.cols / 16) + 16 * b;
        int msum = 0;
        for (int j = 0; j < 8; ++j) msum += mn[j] * (xs[2 * j] + xs[2 * j + 1]);
        const float xd = a.scale[(t0 + t) * nb + b];
        acc[t] = acc[t] + static_cast<float>(hsum_epi32(isum[t])) * (d * xd);
        acc[t] = acc[t] - static_cast<float>(msum) * (dmin * xd);
      }
    }
    for (int t = 0; t < N; ++t) out[t] = acc[t];
  }
};

struct Q6KKernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ6_K*>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
    float acc[N];
    for (int t = 0; t < N; ++t) acc[t] = 0.0f;
    for (long b = 0; b < nb; ++b) {
      __m256i isum[N];
      const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
      // The -32 offset of every code: 32 * sum_j sc_j * xsum_j, subtracted up front.
      for (int t = 0; t < N; ++t) {
        const short* xs = a.sums16 + (t0 + t) * (a.cols / 16) + 16 * b;
        isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                   _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(xs)), 5));
      }
      for (int half = 0; half < 2; ++half) {
        const __m256i ql0 = load256(w[b].ql + 64 * half);
        const __m256i ql1 = load256(w[b].ql + 64 * half + 32);
        const __m256i qh = load256(w[b].qh + 32 * half);
        __m256i q[4];
        q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4));
        q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4));
        q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4));
        q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4));
        const signed char* sc = w[b].scales + 8 * half;
        for (int k = 0; k < 4; ++k) {
          // Bytes 0-15 of q[k] are sub-block 2k of this half, bytes 16-31 sub-block 2k+1.
          const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
          for (int t = 0; t < N; ++t) {
            const signed char* x = a.q + (t0 + t) * a.cols + kQK_K * b + 128 * half + 32 * k;
            isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], load256(x)), s));
          }
        }
      }
      const float d = _cvtsh_ss(w[b].d);
      for (int t = 0; t < N; ++t)
        acc[t] = acc[t] + static_cast<float>(hsum_epi32(isum[t])) * (d * a.scale[(t0 + t) * nb + b]);
    }
    for (int t = 0; t < N; ++t) out[t] = acc[t];
  }
};

#include "kernels/quant_tiles-inl.h"

}  // namespace

void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end,
                      const Int8Activations& a, float* y, long y_stride) {
  int8_rows(w, row_begin, row_end, a, y, y_stride);
}

}  // namespace whale::isa_avx2
