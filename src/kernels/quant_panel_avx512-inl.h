// The panel kernel for AVX-512 (quant_matmul.h), included by quant_matmul_avx512.cpp once with
// vpmaddwd + vpaddd and once, compiled for VNNI, with vpdpwssd: the including file defines
// WHALE_PAIR_DOT(acc, a, b), acc + the sums of the int16 pair products of a and b per 32-bit
// lane. The two give the same integers, so the same bits. No standard library here (see
// matmul_simd-inl.h).

// R widened rows (from w16, row stride cols) against one panel of kTokenPanel tokens (two
// registers of 16), into c [R][kTokenPanel]. Per sub-block of kPairs value pairs: each pair
// broadcast from the weights and multiplied with the 32 tokens' pairs, summed exactly in int32,
// then one fma per output with the sub-block's scale times the token's block scale; with kMins
// (Q4_K), per block one more fma of the token's code sum with -min times its block scale.
template <int R, int kPairs, bool kMins>
inline void panel_tile(const WidenedRows& w, long row, const short* panel, const float* xs,
                       const float* xsum, float* c) {
  const long cols = w.cols, nb = cols / 32, nsub = cols / (2 * kPairs);
  const short* w16 = w.w16 + row * cols;
  const float* dw = w.scale + row * nsub;
  const float* mw = kMins ? w.min + row * nb : nullptr;
  __m512 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (long b = 0; b < nb; ++b) {
    const __m512 d0 = _mm512_loadu_ps(xs + 32 * b), d1 = _mm512_loadu_ps(xs + 32 * b + 16);
#pragma GCC unroll 2
    for (int h = 0; h < 16 / kPairs; ++h) {
      __m512i isum[R][2];
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) isum[r][0] = isum[r][1] = _mm512_setzero_si512();
      const long pair0 = 16 * b + kPairs * h;
      const short* x = panel + pair0 * 2 * 32;
#pragma GCC unroll 16
      for (int p = 0; p < kPairs; ++p) {
        const __m512i x0 = _mm512_loadu_si512(x + 64 * p);
        const __m512i x1 = _mm512_loadu_si512(x + 64 * p + 32);
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
          const __m512i wp =
              _mm512_broadcastd_epi32(_mm_loadu_si32(w16 + r * cols + 2 * (pair0 + p)));
          isum[r][0] = WHALE_PAIR_DOT(isum[r][0], wp, x0);
          isum[r][1] = WHALE_PAIR_DOT(isum[r][1], wp, x1);
        }
      }
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m512 s = _mm512_set1_ps(dw[r * nsub + pair0 / kPairs]);
        acc[r][0] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][0]), _mm512_mul_ps(s, d0), acc[r][0]);
        acc[r][1] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][1]), _mm512_mul_ps(s, d1), acc[r][1]);
      }
    }
    if (kMins) {
      const __m512 s0 = _mm512_loadu_ps(xsum + 32 * b), s1 = _mm512_loadu_ps(xsum + 32 * b + 16);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m512 m = _mm512_set1_ps(-mw[r * nb + b]);
        acc[r][0] = _mm512_fmadd_ps(s0, _mm512_mul_ps(m, d0), acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(s1, _mm512_mul_ps(m, d1), acc[r][1]);
      }
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(c + 32 * r, acc[r][0]);
    _mm512_storeu_ps(c + 32 * r + 16, acc[r][1]);
  }
}

template <int kPairs, bool kMins>
static void panel_rows_of(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride) {
  const long nb = w.cols / 32;
  const long panels = (a.n_tokens + kTokenPanel - 1) / kTokenPanel;
  for (long p = 0; p < panels; ++p) {
    const short* panel = a.q16_panels + p * kTokenPanel * w.cols;
    const float* xs = a.scale + p * kTokenPanel * nb;
    const float* xsum = a.panel_sums + p * kTokenPanel * nb;
    const long nt =
        a.n_tokens - kTokenPanel * p < kTokenPanel ? a.n_tokens - kTokenPanel * p : kTokenPanel;
    for (long g = 0; g < w.rows; g += 6) {
      const long n = w.rows - g < 6 ? w.rows - g : 6;
      float c[6 * kTokenPanel];
      with_count<6>(n, [&]<int R>() { panel_tile<R, kPairs, kMins>(w, g, panel, xs, xsum, c); });
      for (long i = 0; i < n; ++i)
        for (long t = 0; t < nt; ++t)
          y[(kTokenPanel * p + t) * y_stride + g + i] = c[kTokenPanel * i + t];
    }
  }
}

// Every row of w against every panel of a.q16_panels: y[t * y_stride + r].
static void panel_rows(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride) {
  if (w.pairs == 8)
    panel_rows_of<8, false>(w, a, y, y_stride);
  else if (w.min != nullptr)
    panel_rows_of<16, true>(w, a, y, y_stride);
  else
    panel_rows_of<16, false>(w, a, y, y_stride);
}
