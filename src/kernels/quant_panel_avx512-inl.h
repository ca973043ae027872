// The Q8_0 panel kernel for AVX-512 (quant_matmul.h), included by quant_matmul_avx512.cpp once
// with vpmaddwd + vpaddd and once, compiled for VNNI, with vpdpwssd: the including file defines
// WHALE_PAIR_DOT(acc, a, b), acc + the sums of the int16 pair products of a and b per 32-bit
// lane. The two give the same integers, so the same bits. No standard library here (see
// matmul_simd-inl.h).

// R weight rows (widened to int16: w16 [R][cols], scales dw [R][nb]) against one panel of
// kTokenPanel tokens (two registers of 16), into c [R][kTokenPanel]. Per block: 16 value pairs,
// each broadcast from the weights and multiplied with the 32 tokens' pairs, summed exactly in
// int32; then one fma per output with the block's scale product.
template <int R>
inline void q8_0_panel_tile(const short* w16, long cols, const float* dw, long nb,
                            const short* panel, const float* xs, float* c) {
  __m512 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (long b = 0; b < nb; ++b) {
    __m512i isum[R][2];
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) isum[r][0] = isum[r][1] = _mm512_setzero_si512();
    const short* x = panel + b * 16 * 2 * 32;
#pragma GCC unroll 16
    for (int p = 0; p < 16; ++p) {
      const __m512i x0 = _mm512_loadu_si512(x + 64 * p);
      const __m512i x1 = _mm512_loadu_si512(x + 64 * p + 32);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m512i wp = _mm512_broadcastd_epi32(_mm_loadu_si32(w16 + r * cols + 32 * b + 2 * p));
        isum[r][0] = WHALE_PAIR_DOT(isum[r][0], wp, x0);
        isum[r][1] = WHALE_PAIR_DOT(isum[r][1], wp, x1);
      }
    }
    const __m512 d0 = _mm512_loadu_ps(xs + 32 * b), d1 = _mm512_loadu_ps(xs + 32 * b + 16);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m512 s = _mm512_set1_ps(dw[r * nb + b]);
      acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][0]), _mm512_mul_ps(s, d0), acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][1]), _mm512_mul_ps(s, d1), acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(c + 32 * r, acc[r][0]);
    _mm512_storeu_ps(c + 32 * r + 16, acc[r][1]);
  }
}

// Rows [row_begin, row_end) for every token of a.q16_panels: tiles of q8_0_panel_tile_rows rows
// widened into w16 / dw (the caller's scratch), each tile against every panel in turn.
static void q8_0_panel_rows(const WeightMatrix& w, long row_begin, long row_end,
                            const Int8Activations& a, float* y, long y_stride, short* w16,
                            float* dw) {
  const long cols = w.cols, nb = cols / kQK, row_bytes = nb * static_cast<long>(sizeof(BlockQ8_0));
  const long tile = q8_0_panel_tile_rows(cols);
  const long panels = (a.n_tokens + kTokenPanel - 1) / kTokenPanel;
  for (long r0 = row_begin; r0 < row_end; r0 += tile) {
    const long r1 = r0 + tile < row_end ? r0 + tile : row_end;
    for (long r = r0; r < r1; ++r) {
      const auto* blocks = reinterpret_cast<const BlockQ8_0*>(w.data + r * row_bytes);
      for (long b = 0; b < nb; ++b) {
        dw[(r - r0) * nb + b] = _cvtsh_ss(blocks[b].d);
        _mm512_storeu_si512(w16 + (r - r0) * cols + kQK * b,
                            _mm512_cvtepi8_epi16(_mm256_loadu_si256(
                                reinterpret_cast<const __m256i*>(blocks[b].qs))));
      }
    }
    for (long p = 0; p < panels; ++p) {
      const short* panel = a.q16_panels + p * kTokenPanel * cols;
      const float* xs = a.scale + p * kTokenPanel * nb;
      const long nt =
          a.n_tokens - kTokenPanel * p < kTokenPanel ? a.n_tokens - kTokenPanel * p : kTokenPanel;
      for (long g = r0; g < r1; g += 6) {
        const long n = r1 - g < 6 ? r1 - g : 6;
        const short* wg = w16 + (g - r0) * cols;
        const float* dg = dw + (g - r0) * nb;
        float c[6 * kTokenPanel];
        switch (n) {
          case 1:
            q8_0_panel_tile<1>(wg, cols, dg, nb, panel, xs, c);
            break;
          case 2:
            q8_0_panel_tile<2>(wg, cols, dg, nb, panel, xs, c);
            break;
          case 3:
            q8_0_panel_tile<3>(wg, cols, dg, nb, panel, xs, c);
            break;
          case 4:
            q8_0_panel_tile<4>(wg, cols, dg, nb, panel, xs, c);
            break;
          case 5:
            q8_0_panel_tile<5>(wg, cols, dg, nb, panel, xs, c);
            break;
          default:
            q8_0_panel_tile<6>(wg, cols, dg, nb, panel, xs, c);
            break;
        }
        for (long i = 0; i < n; ++i)
          for (long t = 0; t < nt; ++t)
            y[(kTokenPanel * p + t) * y_stride + (g + i - row_begin)] = c[kTokenPanel * i + t];
      }
    }
  }
}
