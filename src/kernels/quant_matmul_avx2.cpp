// Integer kernels for AVX2 (quant_matmul.h): vpmaddubsw (unsigned x signed bytes -> int16
// pairs) then vpmaddwd into int32 for the k-quants, vpmaddwd on int16 activations for Q8_0.
// Compiled with -mavx2 -mfma -mf16c; run only where cpu_features() reports them.
#include <immintrin.h>

#include "formats/ggml_blocks.h"
#include "formats/ggml_quants.h"
#include "kernels/matmul_isa.h"
#include "kernels/quant_matmul.h"
#include "kernels/tile_dispatch.h"

namespace whale::isa_avx2 {
namespace {

// The fixed reduction of quant_matmul.h: lanes k and k+4 first, then pairs, then the rest.
inline float hsum_ps(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// vpshufb control that copies 16-bit lane j of each 128-bit half to all of that half.
inline __m256i pick_word(int j) {
  return _mm256_set1_epi16(static_cast<short>(((2 * j + 1) << 8) | (2 * j)));
}
// ... lane j to the low half and lane j + 1 to the high half.
inline __m256i pick_word_pair(int j) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(((2 * j + 3) << 8) | (2 * j + 2))),
                          _mm_set1_epi16(static_cast<short>(((2 * j + 1) << 8) | (2 * j))));
}

// Prefetches the kLines cache lines kPrefetchAhead bytes past p (matmul_isa.h); prefetches
// never fault, so running past the end of the weights is harmless.
template <int kLines>
inline void prefetch_ahead(const void* p) {
#pragma GCC unroll 4
  for (int i = 0; i < kLines; ++i)
    _mm_prefetch(static_cast<const char*>(p) + kPrefetchAhead + 64 * i, _MM_HINT_NTA);
}

// Q8_0 against int16 activations: each block as two registers of 16 values (lanes 0-7 and
// 8-15 of quant_matmul.h's order), vpmaddwd sums the value pairs.
struct Q8_0Kernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  static inline void block(const BlockQ8_0& w, long b, const short* const* xq,
                           const float* const* xd, __m256* lo, __m256* hi) {
    const __m256i q_lo =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs)));
    const __m256i q_hi =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs + 16)));
    const float dw = _cvtsh_ss(w.d);
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) {
      const short* x = xq[t] + 32 * b;
      const __m256 p = _mm256_set1_ps(dw * xd[t][b]);
      lo[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(q_lo, load256(x))), p, lo[t]);
      hi[t] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(q_hi, load256(x + 16))), p, hi[t]);
    }
  }

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ8_0*>(row);
    const short* xq[N];
    const float* xd[N];
    __m256 lo[2][N], hi[2][N];  // even and odd blocks
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) {
      xq[t] = a.q16 + (t0 + t) * a.cols;
      xd[t] = a.scale + (t0 + t) * nb;
      for (int e = 0; e < 2; ++e) lo[e][t] = hi[e][t] = _mm256_setzero_ps();
    }
    long b = 0;
    for (; b + 2 <= nb; b += 2) {
      prefetch_ahead<2>(w + b);  // 68 bytes
      block<N>(w[b], b, xq, xd, lo[0], hi[0]);
      block<N>(w[b + 1], b + 1, xq, xd, lo[1], hi[1]);
    }
    if (b < nb) block<N>(w[b], b, xq, xd, lo[0], hi[0]);
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t)
      out[t] = hsum_ps(
          _mm256_add_ps(_mm256_add_ps(lo[0][t], lo[1][t]), _mm256_add_ps(hi[0][t], hi[1][t])));
  }
};

// Q4_K's 6-bit scales and mins of a super-block, from the 16 bytes that start it (d, dmin,
// then the 12 packed bytes), as bytes [sc0..sc7 | m0..m7] (k_scale_min for all eight, in registers;
// the AVX-512 file's twin, with an and/or in place of its ternary logic).
inline __m128i q4_k_scales_mins(__m128i head) {
  const __m128i p = _mm_srlv_epi32(_mm_shuffle_epi32(head, 0xed), _mm_set_epi32(4, 0, 0, 0));
  const __m128i q = _mm_srli_epi32(_mm_shuffle_epi32(head, 0xa5), 2);  // [u0, u0, u1, u1] >> 2
  const __m128i low =
      _mm_and_si128(p, _mm_set_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f));
  return _mm_or_si128(low, _mm_and_si128(q, _mm_set_epi32(0x30303030, 0, 0x30303030, 0)));
}

struct Q4KKernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ4_K*>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    // Float lanes 0-7 / 8-15 of quant_matmul.h's order: byte groups 0, 2 / 1, 3.
    __m256 acc_lo[N], acc_hi[N], acc_min[N];
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) acc_lo[t] = acc_hi[t] = acc_min[t] = _mm256_setzero_ps();
    for (long b = 0; b < nb; ++b) {
      prefetch_ahead<3>(w + b);  // 144 bytes
      const __m128i sm = q4_k_scales_mins(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&w[b])));
      const __m128i sc16 = _mm_cvtepu8_epi16(sm);
      const __m128i m16 = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
      const __m256i scales = _mm256_broadcastsi128_si256(sc16);
      // m_j against both 16-value partial sums of sub-block j.
      const __m256i mins_pairs =
          _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
      __m256i sum_lo[N], sum_hi[N];
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) sum_lo[t] = sum_hi[t] = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        // Byte group k: values 64k + [0, 32) (low nibbles) and 64k + [32, 64) (high), at
        // activation positions 128 (k / 2) + 32 (k % 2) and that + 64 (quarters swapped).
        const __m256i q = load256(w[b].qs + 32 * k);
        const __m256i lo = _mm256_and_si256(q, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        const __m256i s_lo = _mm256_shuffle_epi8(scales, pick_word(2 * k));
        const __m256i s_hi = _mm256_shuffle_epi8(scales, pick_word(2 * k + 1));
#pragma GCC unroll 4
        for (int t = 0; t < N; ++t) {
          const signed char* x = a.q + (t0 + t) * a.cols + kQK_K * b + 128 * (k / 2) + 32 * (k % 2);
          const __m256i p =
              _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(x)), s_lo),
                               _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(x + 64)), s_hi));
          if (k % 2 == 0)
            sum_lo[t] = _mm256_add_epi32(sum_lo[t], p);
          else
            sum_hi[t] = _mm256_add_epi32(sum_hi[t], p);
        }
      }
      const float d = _cvtsh_ss(w[b].d), dmin = _cvtsh_ss(w[b].dmin);
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) {
        const short* xs = a.sums16 + (t0 + t) * (a.cols / 16) + 16 * b;
        const float xd = a.scale[(t0 + t) * nb + b];
        const __m256 dd = _mm256_set1_ps(d * xd);
        acc_lo[t] = _mm256_add_ps(acc_lo[t], _mm256_mul_ps(_mm256_cvtepi32_ps(sum_lo[t]), dd));
        acc_hi[t] = _mm256_add_ps(acc_hi[t], _mm256_mul_ps(_mm256_cvtepi32_ps(sum_hi[t]), dd));
        const __m256i msum = _mm256_madd_epi16(mins_pairs, load256(xs));
        acc_min[t] = _mm256_add_ps(
            acc_min[t], _mm256_mul_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * xd)));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t)
      out[t] = hsum_ps(_mm256_add_ps(acc_lo[t], acc_hi[t])) - hsum_ps(acc_min[t]);
  }
};

struct Q6KKernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ6_K*>(row);
    const __m256i low4 = _mm256_set1_epi8(0x0f), low2 = _mm256_set1_epi8(0x03);
    // Float lanes 0-7 / 8-15 of quant_matmul.h's order: q[0], q[2] / q[1], q[3].
    __m256 acc_lo[N], acc_hi[N];
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) acc_lo[t] = acc_hi[t] = _mm256_setzero_ps();
    for (long b = 0; b < nb; ++b) {
      prefetch_ahead<4>(w + b);  // 210 bytes
      __m256i sum_lo[N], sum_hi[N];
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
// The -32 offset of every code: 32 * sum_j sc_j * xsum_j, subtracted up front.
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) {
        const short* xs = a.sums16 + (t0 + t) * (a.cols / 16) + 16 * b;
        sum_lo[t] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                     _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(xs)), 5));
        sum_hi[t] = _mm256_setzero_si256();
      }
      for (int half = 0; half < 2; ++half) {
        const __m256i ql0 = load256(w[b].ql + 64 * half);
        const __m256i ql1 = load256(w[b].ql + 64 * half + 32);
        const __m256i qh = load256(w[b].qh + 32 * half);
        __m256i q[4];
        q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4),
                               _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4));
        q[1] =
            _mm256_or_si256(_mm256_and_si256(ql1, low4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4));
        q[2] =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4));
        q[3] =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4));
        // This half's eight scales as 16-bit lanes, in both 128-bit halves.
        const __m256i sc = _mm256_broadcastsi128_si256(
            half == 0 ? _mm256_castsi256_si128(sc16) : _mm256_extracti128_si256(sc16, 1));
        for (int k = 0; k < 4; ++k) {
          // Bytes 0-15 of q[k] are sub-block 2k of this half, bytes 16-31 sub-block 2k+1.
          const __m256i s = _mm256_shuffle_epi8(sc, pick_word_pair(2 * k));
#pragma GCC unroll 4
          for (int t = 0; t < N; ++t) {
            const signed char* x = a.q + (t0 + t) * a.cols + kQK_K * b + 128 * half + 32 * k;
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], load256(x)), s);
            if (k % 2 == 0)
              sum_lo[t] = _mm256_add_epi32(sum_lo[t], p);
            else
              sum_hi[t] = _mm256_add_epi32(sum_hi[t], p);
          }
        }
      }
      const float d = _cvtsh_ss(w[b].d);
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) {
        const __m256 dd = _mm256_set1_ps(d * a.scale[(t0 + t) * nb + b]);
        acc_lo[t] = _mm256_add_ps(acc_lo[t], _mm256_mul_ps(_mm256_cvtepi32_ps(sum_lo[t]), dd));
        acc_hi[t] = _mm256_add_ps(acc_hi[t], _mm256_mul_ps(_mm256_cvtepi32_ps(sum_hi[t]), dd));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) out[t] = hsum_ps(_mm256_add_ps(acc_lo[t], acc_hi[t]));
  }
};

#include "kernels/quant_tiles-inl.h"

// The panel kernel (quant_matmul.h) on 8-lane registers: R rows against 16 tokens (half a
// panel, from token `half` * 16), into c [R][16]. The integer sums and the float chain are the
// AVX-512 kernel's, so are the bits.
template <int R, int kPairs, bool kMins>
inline void panel_tile(const WidenedRows& w, long row, const short* panel, const float* xs,
                       const float* xsum, int half, float* c) {
  const long cols = w.cols, nb = cols / 32, nsub = cols / (2 * kPairs);
  const short* w16 = w.w16 + row * cols;
  const float* dw = w.scale + row * nsub;
  const float* mw = kMins ? w.min + row * nb : nullptr;
  __m256 acc[R][2];
#pragma GCC unroll 3
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (long b = 0; b < nb; ++b) {
    const float* d = xs + kTokenPanel * b + 16 * half;
    const __m256 d0 = _mm256_loadu_ps(d), d1 = _mm256_loadu_ps(d + 8);
    for (int h = 0; h < 16 / kPairs; ++h) {
      __m256i isum[R][2];
#pragma GCC unroll 3
      for (int r = 0; r < R; ++r) isum[r][0] = isum[r][1] = _mm256_setzero_si256();
      const long pair0 = 16 * b + kPairs * h;
      const short* x = panel + pair0 * 2 * kTokenPanel + 32 * half;
#pragma GCC unroll 16
      for (int p = 0; p < kPairs; ++p) {
        const __m256i x0 = load256(x + 2 * kTokenPanel * p);
        const __m256i x1 = load256(x + 2 * kTokenPanel * p + 16);
#pragma GCC unroll 3
        for (int r = 0; r < R; ++r) {
          const __m256i wp =
              _mm256_broadcastd_epi32(_mm_loadu_si32(w16 + r * cols + 2 * (pair0 + p)));
          isum[r][0] = _mm256_add_epi32(isum[r][0], _mm256_madd_epi16(wp, x0));
          isum[r][1] = _mm256_add_epi32(isum[r][1], _mm256_madd_epi16(wp, x1));
        }
      }
#pragma GCC unroll 3
      for (int r = 0; r < R; ++r) {
        const __m256 s = _mm256_set1_ps(dw[r * nsub + pair0 / kPairs]);
        acc[r][0] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][0]), _mm256_mul_ps(s, d0), acc[r][0]);
        acc[r][1] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][1]), _mm256_mul_ps(s, d1), acc[r][1]);
      }
    }
    if (kMins) {
      const float* xm = xsum + kTokenPanel * b + 16 * half;
      const __m256 s0 = _mm256_loadu_ps(xm), s1 = _mm256_loadu_ps(xm + 8);
#pragma GCC unroll 3
      for (int r = 0; r < R; ++r) {
        const __m256 m = _mm256_set1_ps(-mw[r * nb + b]);
        acc[r][0] = _mm256_fmadd_ps(s0, _mm256_mul_ps(m, d0), acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(s1, _mm256_mul_ps(m, d1), acc[r][1]);
      }
    }
  }
#pragma GCC unroll 3
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + 16 * r, acc[r][0]);
    _mm256_storeu_ps(c + 16 * r + 8, acc[r][1]);
  }
}

template <int kPairs, bool kMins>
void panel_rows_of(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride) {
  const long nb = w.cols / 32;
  const long panels = (a.n_tokens + kTokenPanel - 1) / kTokenPanel;
  for (long p = 0; p < panels; ++p) {
    const short* panel = a.q16_panels + p * kTokenPanel * w.cols;
    const float* xs = a.scale + p * kTokenPanel * nb;
    const float* xsum = a.panel_sums + p * kTokenPanel * nb;
    for (int half = 0; half < 2; ++half) {
      const long t0 = kTokenPanel * p + 16 * half;
      if (t0 >= a.n_tokens) break;
      const long nt = a.n_tokens - t0 < 16 ? a.n_tokens - t0 : 16;
      for (long g = 0; g < w.rows; g += 3) {
        const long n = w.rows - g < 3 ? w.rows - g : 3;
        float c[3 * 16];
        with_count<3>(
            n, [&]<int R>() { panel_tile<R, kPairs, kMins>(w, g, panel, xs, xsum, half, c); });
        for (long i = 0; i < n; ++i)
          for (long t = 0; t < nt; ++t) y[(t0 + t) * y_stride + g + i] = c[16 * i + t];
      }
    }
  }
}

}  // namespace

void panel_rows(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride) {
  if (w.pairs == 8)
    panel_rows_of<8, false>(w, a, y, y_stride);
  else if (w.min != nullptr)
    panel_rows_of<16, true>(w, a, y, y_stride);
  else
    panel_rows_of<16, false>(w, a, y, y_stride);
}

void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride) {
  int8_rows(w, row_begin, row_end, a, y, y_stride);
}

namespace {

// The AVX-512 file's int16_blocks on 8-lane registers: the same codes; store(b, codes, scale,
// code sum) takes each block's 32 codes as int16 in value order (as 16 32-bit pairs).
template <typename Store>
inline void int16_blocks(const float* x, long cols, Store store) {
  const __m256i abs_bits = _mm256_set1_epi32(0x7fffffff);
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 lim = _mm256_set1_ps(32767.0f), neg_lim = _mm256_set1_ps(-32767.0f);
  for (long b = 0; b < cols / kQK; ++b) {
    __m256 v[4];
    __m256i m = _mm256_setzero_si256();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + kQK * b + 8 * i);
      m = _mm256_max_epi32(m, _mm256_and_si256(_mm256_castps_si256(v[i]), abs_bits));
    }
    __m128i m4 = _mm_max_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
    m4 = _mm_max_epi32(m4, _mm_shuffle_epi32(m4, 0x4e));
    m4 = _mm_max_epi32(m4, _mm_shuffle_epi32(m4, 0xb1));
    const int top = _mm_cvtsi128_si32(m4);
    int out[16] = {};
    if (top >= 0x7f800000) {  // NaN or infinity: the scale carries it
      store(b, out, __builtin_nanf(""), 0);
      continue;
    }
    float amax;
    __builtin_memcpy(&amax, &top, 4);
    const __m256 inv = _mm256_set1_ps(amax >= kTinyBlock ? 32767.0f / amax : 0.0f);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) {
      const __m256 r = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(v[i], inv), magic), magic);
      q[i] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, neg_lim), lim));
    }
    const __m256i q4 = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(q4), _mm256_extracti128_si256(q4, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    // packs interleaves 128-bit halves; the permute restores value order.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xd8));
    store(b, out, amax / 32767.0f, _mm_cvtsi128_si32(s4));
  }
}

}  // namespace

void quantize_panel_token(const float* x, long cols, short* panel, float* scales, float* sums,
                          long lane) {
  int* words = reinterpret_cast<int*>(panel) + lane;  // pair k of the token at words[k * 32]
  int16_blocks(x, cols, [&](long b, const int* codes, float scale, int sum) {
    scales[b * kTokenPanel + lane] = scale;
    sums[b * kTokenPanel + lane] = static_cast<float>(sum);
    for (int k = 0; k < 16; ++k) words[(16 * b + k) * kTokenPanel] = codes[k];
  });
}

void quantize_int16_row(const float* x, long cols, short* q, float* scales) {
  int16_blocks(x, cols, [&](long b, const int* codes, float scale, int) {
    __builtin_memcpy(q + kQK * b, codes, 64);
    scales[b] = scale;
  });
}

void quantize_int8_row(const float* x, long cols, signed char* q, float* scales, short* sums16) {
  const __m256i abs_bits = _mm256_set1_epi32(0x7fffffff);
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 lim = _mm256_set1_ps(127.0f), neg_lim = _mm256_set1_ps(-127.0f);
  for (long b = 0; b < cols / kQK_K; ++b) {
    const float* xb = x + kQK_K * b;
    signed char* qb = q + kQK_K * b;
    short* sb = sums16 + kQK_K / 16 * b;
    __m256i m = _mm256_setzero_si256();
    for (int i = 0; i < 32; ++i)
      m = _mm256_max_epi32(
          m, _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(xb + 8 * i)), abs_bits));
    __m128i m4 = _mm_max_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
    m4 = _mm_max_epi32(m4, _mm_shuffle_epi32(m4, 0x4e));
    m4 = _mm_max_epi32(m4, _mm_shuffle_epi32(m4, 0xb1));
    const int top = _mm_cvtsi128_si32(m4);
    if (top >= 0x7f800000) {  // NaN or infinity: the scale carries it, the codes are zero
      scales[b] = __builtin_nanf("");
      for (int i = 0; i < 8; ++i)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(qb + 32 * i), _mm256_setzero_si256());
      for (int i = 0; i < 2; ++i)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(sb + 16 * i), _mm256_setzero_si256());
      continue;
    }
    float amax;
    __builtin_memcpy(&amax, &top, 4);
    scales[b] = amax / 127.0f;
    const __m256 inv = _mm256_set1_ps(amax >= kTinyBlock ? 127.0f / amax : 0.0f);
    const auto code = [&](const float* v) {
      const __m256 r =
          _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v), inv), magic), magic);
      return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, neg_lim), lim));
    };
    for (int i = 0; i < 16; ++i) {  // 16 values: one partial sum
      const __m256i c0 = code(xb + 16 * i), c1 = code(xb + 16 * i + 8);
      // packs interleaves 128-bit halves; the permutes restore value order.
      const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(c0, c1), 0xd8);
      const __m256i w8 = _mm256_permute4x64_epi64(_mm256_packs_epi16(w16, w16), 0x08);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qb + 16 * i), _mm256_castsi256_si128(w8));
      const __m256i s8 = _mm256_add_epi32(c0, c1);
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
      sb[i] = static_cast<short>(_mm_cvtsi128_si32(s4));
    }
  }
}

}  // namespace whale::isa_avx2
