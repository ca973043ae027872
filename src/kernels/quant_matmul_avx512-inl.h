// Integer kernels for AVX-512 (quant_matmul.h), included by quant_matmul_avx512.cpp. No
// standard library here (see matmul_simd-inl.h).

// tree8 of quant_matmul.h.
inline float hsum_ps256(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

// The fixed reduction of quant_matmul.h: lanes k and k+8, then as the AVX2 path.
inline float hsum_ps(__m512 v) {
  return hsum_ps256(_mm256_add_ps(
      _mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

// Prefetches the kLines cache lines kPrefetchAhead bytes past p (matmul_isa.h); prefetches
// never fault, so running past the end of the weights is harmless.
template <int kLines>
inline void prefetch_ahead(const void* p) {
#pragma GCC unroll 4
  for (int i = 0; i < kLines; ++i)
    _mm_prefetch(static_cast<const char*>(p) + kPrefetchAhead + 64 * i, _MM_HINT_NTA);
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m512i load512(const void* p) {
  return _mm512_loadu_si512(p);
}

// 16-bit lane i of the result is (i >> shift) * stride + offset: permutexvar indices that
// spread a few scales over groups of lanes.
inline __m512i lanes_over(int shift, short stride, short offset) {
  static const short kIota[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  return _mm512_add_epi16(
      _mm512_mullo_epi16(_mm512_srl_epi16(load512(kIota), _mm_cvtsi32_si128(shift)),
                         _mm512_set1_epi16(stride)),
      _mm512_set1_epi16(offset));
}

// hsum_ps of four registers side by side, the same additions in the same order, so the same
// bits: lanes k + (k + 8), then within each half as hsum_ps256.
inline __m128 hsum4_ps(__m512 v0, __m512 v1, __m512 v2, __m512 v3) {
  const __m512 u01 = _mm512_add_ps(_mm512_shuffle_f32x4(v0, v1, 0x44),   // low halves of v0, v1
                                   _mm512_shuffle_f32x4(v0, v1, 0xee));  // high halves
  const __m512 u23 =
      _mm512_add_ps(_mm512_shuffle_f32x4(v2, v3, 0x44), _mm512_shuffle_f32x4(v2, v3, 0xee));
  // 128-bit lane i: the low quarter plus the high quarter of u_i.
  const __m512 q =
      _mm512_add_ps(_mm512_shuffle_f32x4(u01, u23, 0x88), _mm512_shuffle_f32x4(u01, u23, 0xdd));
  const __m512 r = _mm512_add_ps(q, _mm512_permute_ps(q, 0xee));  // [q0 + q2, q1 + q3, ...]
  const __m512 f = _mm512_add_ps(r, _mm512_movehdup_ps(r));       // lane 0: r0 + r1
  return _mm512_castps512_ps128(
      _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), f));
}

// Q8_0 against int16 activations: one block per register, vpmaddwd sums the value pairs.
struct Q8_0Kernel {
  const Int8Activations& a;
  long nb;

  // A block's 32 codes widened to int16.
  static inline __m512i codes(const BlockQ8_0& w) { return _mm512_cvtepi8_epi16(load256(w.qs)); }

  // fma(float(the pair sums of codes q and activations x), p, acc): one block and token, with
  // p = d_w * d_x (quant_matmul.h's order).
  static inline __m512 block_dot(__m512i q, __m512i x, float p, __m512 acc) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(q, x)), _mm512_set1_ps(p), acc);
  }

  template <int N>
  static inline void block(const BlockQ8_0& w, long b, const short* const* xq,
                           const float* const* xd, __m512* acc) {
    const __m512i q = codes(w);
    const float dw = _cvtsh_ss(w.d);
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t)
      acc[t] = block_dot(q, load512(xq[t] + 32 * b), dw * xd[t][b], acc[t]);
  }

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ8_0*>(row);
    const short* xq[N];
    const float* xd[N];
    __m512 acc[2][N];  // even and odd blocks
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) {
      xq[t] = a.q16 + (t0 + t) * a.cols;
      xd[t] = a.scale + (t0 + t) * nb;
      acc[0][t] = _mm512_setzero_ps();
      acc[1][t] = _mm512_setzero_ps();
    }
    long b = 0;
    for (; b + 2 <= nb; b += 2) {
      prefetch_ahead<2>(w + b);  // 68 bytes
      block<N>(w[b], b, xq, xd, acc[0]);
      block<N>(w[b + 1], b + 1, xq, xd, acc[1]);
    }
    if (b < nb) block<N>(w[b], b, xq, xd, acc[0]);
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) out[t] = hsum_ps(_mm512_add_ps(acc[0][t], acc[1][t]));
  }

  // run<1> on four consecutive rows at once: each row's blocks go through the same operations
  // into its own accumulators, and hsum4_ps reduces the four alike, so out[i] has run<1>'s bits
  // for row i. Short rows (the absorbed k_b's 4 blocks) spent much of run<1> in its set-up and
  // reduction; tiled_rows says which rows take it.
  void run_rows4(const unsigned char* row, long row_bytes, long t0, float* out) const {
    const short* xq = a.q16 + t0 * a.cols;
    const float* xd = a.scale + t0 * nb;
    const BlockQ8_0* w[4];
    __m512 acc[4][2];  // even and odd blocks of each row
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      w[i] = reinterpret_cast<const BlockQ8_0*>(row + i * row_bytes);
      acc[i][0] = _mm512_setzero_ps();
      acc[i][1] = _mm512_setzero_ps();
    }
    long b = 0;
    for (; b + 2 <= nb; b += 2) {
      const __m512i x0 = load512(xq + 32 * b), x1 = load512(xq + 32 * (b + 1));
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        prefetch_ahead<2>(w[i] + b);
        acc[i][0] = block_dot(codes(w[i][b]), x0, _cvtsh_ss(w[i][b].d) * xd[b], acc[i][0]);
        acc[i][1] =
            block_dot(codes(w[i][b + 1]), x1, _cvtsh_ss(w[i][b + 1].d) * xd[b + 1], acc[i][1]);
      }
    }
    if (b < nb) {
      const __m512i x0 = load512(xq + 32 * b);
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i)
        acc[i][0] = block_dot(codes(w[i][b]), x0, _cvtsh_ss(w[i][b].d) * xd[b], acc[i][0]);
    }
    _mm_storeu_ps(
        out, hsum4_ps(_mm512_add_ps(acc[0][0], acc[0][1]), _mm512_add_ps(acc[1][0], acc[1][1]),
                      _mm512_add_ps(acc[2][0], acc[2][1]), _mm512_add_ps(acc[3][0], acc[3][1])));
  }
};

// Q4_K's 6-bit scales and mins of a super-block, from the 16 bytes that start it (d, dmin,
// then the 12 packed bytes), as bytes [sc0..sc7 | m0..m7] (k_scale_min for all eight, in
// registers).
inline __m128i q4_k_scales_mins(__m128i head) {
  // head's dwords: [d | dmin, u0, u1, u2]; sc0-3 = u0 & 0x3f, m0-3 = u1 & 0x3f,
  // sc4-7 = (u2 & 0x0f) | ((u0 >> 2) & 0x30), m4-7 = ((u2 >> 4) & 0x0f) | ((u1 >> 2) & 0x30).
  const __m128i p = _mm_srlv_epi32(_mm_shuffle_epi32(head, 0xed), _mm_set_epi32(4, 0, 0, 0));
  const __m128i q = _mm_srli_epi32(_mm_shuffle_epi32(head, 0xa5), 2);  // [u0, u0, u1, u1] >> 2
  const __m128i low =
      _mm_and_si128(p, _mm_set_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f));
  // low | (q & mask): bits 4-5 of the upper halves come from u0, u1.
  return _mm_ternarylogic_epi32(low, q, _mm_set_epi32(0x30303030, 0, 0x30303030, 0), 0xf8);
}

// int16 lanes (byte s of each 128-bit lane's source, zero) for pshufb: lanes 0-1 of the
// result take byte `first`, lanes 2-3 byte `second`.
inline __m512i spread_bytes(int first, int second) {
  const __m128i a = _mm_set1_epi16(static_cast<short>(first | 0x8000));
  const __m128i b = _mm_set1_epi16(static_cast<short>(second | 0x8000));
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(a, a)), _mm256_set_m128i(b, b),
                            1);
}

struct Q4KKernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ4_K*>(row);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    // Register g of the codes holds sub-blocks 4g, 4g+2 in its low nibbles and 4g+1, 4g+3 in
    // its high ones, each over two 128-bit lanes: the scale of each int16 product lane.
    const __m512i spread[4] = {spread_bytes(0, 2), spread_bytes(1, 3), spread_bytes(4, 6),
                               spread_bytes(5, 7)};
    // m_j against both 16-value partial sums of sub-block j: int16 lanes m0 m0 m1 m1 ...
    const __m256i min_pairs = _mm256_setr_epi8(
        8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128, 11, -128, 12, -128, 12,
        -128, 13, -128, 13, -128, 14, -128, 14, -128, 15, -128, 15, -128);
    __m512 acc[N];
    __m256 acc_min[N];
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) {
      acc[t] = _mm512_setzero_ps();
      acc_min[t] = _mm256_setzero_ps();
    }
    for (long b = 0; b < nb; ++b) {
      prefetch_ahead<3>(w + b);  // 144 bytes
      const __m128i sm = q4_k_scales_mins(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&w[b])));
      const __m512i sm4 = _mm512_broadcast_i32x4(sm);
      const __m256i mins = _mm256_shuffle_epi8(_mm512_castsi512_si256(sm4), min_pairs);
      __m512i isum[N];
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 2
      for (int g = 0; g < 2; ++g) {
        const __m512i q = load512(w[b].qs + 64 * g);
        const __m512i lo = _mm512_and_si512(q, low4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
        const __m512i s_lo = _mm512_shuffle_epi8(sm4, spread[2 * g]);
        const __m512i s_hi = _mm512_shuffle_epi8(sm4, spread[2 * g + 1]);
#pragma GCC unroll 4
        for (int t = 0; t < N; ++t) {
          const signed char* x = a.q + (t0 + t) * a.cols + kQK_K * b + 128 * g;
          isum[t] = WHALE_PAIR_DOT(isum[t], _mm512_maddubs_epi16(lo, load512(x)), s_lo);
          isum[t] = WHALE_PAIR_DOT(isum[t], _mm512_maddubs_epi16(hi, load512(x + 64)), s_hi);
        }
      }
      const float d = _cvtsh_ss(w[b].d), dmin = _cvtsh_ss(w[b].dmin);
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) {
        const short* xs = a.sums16 + (t0 + t) * (a.cols / 16) + 16 * b;
        const float xd = a.scale[(t0 + t) * nb + b];
        acc[t] = _mm512_add_ps(acc[t],
                               _mm512_mul_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_set1_ps(d * xd)));
        const __m256i msum = _mm256_madd_epi16(mins, load256(xs));
        acc_min[t] = _mm256_add_ps(
            acc_min[t], _mm256_mul_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * xd)));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) out[t] = hsum_ps(acc[t]) - hsum_ps256(acc_min[t]);
  }
};

struct Q6KKernel {
  const Int8Activations& a;
  long nb;

  template <int N>
  void run(const unsigned char* row, long t0, float* out) const {
    const auto* w = reinterpret_cast<const BlockQ6_K*>(row);
    const __m512i low4 = _mm512_set1_epi8(0x0f), low2 = _mm512_set1_epi8(0x03);
    const __m512i spread[4] = {lanes_over(3, 1, 0), lanes_over(3, 1, 4), lanes_over(3, 1, 8),
                               lanes_over(3, 1, 12)};
    __m512 acc[N];
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
    for (long b = 0; b < nb; ++b) {
      prefetch_ahead<4>(w + b);  // 210 bytes
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
      const __m512i sc512 = _mm512_castsi256_si512(sc16);
      __m512i isum[N];
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t) {  // lanes 0-7 start at -32 (sc_2i xsum_2i + sc_2i+1 xsum_2i+1)
        const short* xs = a.sums16 + (t0 + t) * (a.cols / 16) + 16 * b;
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(xs)), 5);
        isum[t] = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), offset));
      }
      for (int half = 0; half < 2; ++half) {
        // Values 128 half + [0, 64): low nibbles of ql, qh bits 0-1 then 2-3;
        // values 128 half + [64, 128): high nibbles, qh bits 4-5 then 6-7.
        const __m512i ql = load512(w[b].ql + 64 * half);
        const __m256i qh = load256(w[b].qh + 32 * half);
        const __m512i qhv =
            _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, low4),
                                            _mm512_slli_epi16(_mm512_and_si512(qhv, low2), 4));
        const __m512i q23 = _mm512_or_si512(
            _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
            _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qhv, 4), low2), 4));
        // Each 16-byte lane of q01 / q23 is one sub-block: scales 8 half + 0..3 / 4..7.
        const __m512i s01 = _mm512_permutexvar_epi16(spread[2 * half], sc512);
        const __m512i s23 = _mm512_permutexvar_epi16(spread[2 * half + 1], sc512);
#pragma GCC unroll 4
        for (int t = 0; t < N; ++t) {
          const signed char* x = a.q + (t0 + t) * a.cols + kQK_K * b + 128 * half;
          const __m512i p01 = _mm512_madd_epi16(_mm512_maddubs_epi16(q01, load512(x)), s01);
          const __m512i p23 = _mm512_madd_epi16(_mm512_maddubs_epi16(q23, load512(x + 64)), s23);
          isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(p01, p23));
        }
      }
      const float d = _cvtsh_ss(w[b].d);
#pragma GCC unroll 4
      for (int t = 0; t < N; ++t)
        acc[t] =
            _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_cvtepi32_ps(isum[t]),
                                                _mm512_set1_ps(d * a.scale[(t0 + t) * nb + b])));
    }
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) out[t] = hsum_ps(acc[t]);
  }
};

#include "kernels/quant_tiles-inl.h"
