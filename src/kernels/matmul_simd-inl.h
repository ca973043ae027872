// The SIMD body of matmul, compiled once per ISA by matmul_avx2.cpp and matmul_avx512.cpp.
// The including file defines, in its own namespace, the vector type `Vec`, `kWidth` and
//   zero(), load_f32(p), add(a, b), fmadd(a, b, c), set1(f), hsum(v),
//   mul(a, b), store(p, v), load_bf16(p), load_f16(p), load_fp8_raw(p),
// plus scalar_weight(w, r, c) (the exact dequantized weight). Row loaders return kWidth stored
// weights as float32; FP8 comes back divided by 256 and without its block scale, both applied
// once per block as `scale * fp8_unit`.
// Nothing here may use the standard library: an inline std:: template instantiated in an
// AVX-512 translation unit could be merged with the baseline copy and crash older CPUs.

// y[t * y_stride + (r - row_begin)] for t < n_tokens, r in [row_begin, row_end): the decode
// path, where every weight byte is read once. Weights are converted on the fly, one row at a
// time: a row's result is the same whatever rows share its call or thread. Per row and token,
// piece j (kWidth columns) of each scale block goes to chain j % 4; a block adds
// (chain0 + chain1) + (chain2 + chain3), times its scale for FP8, to the row's sum; then hsum
// and the scalar tail. Four chains hide the FMA latency of one, and one row streamed with a
// non-temporal prefetch kPrefetchAhead bytes ahead reads memory faster than four rows side by
// side: a BF16 8192x1536 product from memory read 49-57 GB/s four rows at a time, 65-68 so.
template <typename LoadRow>
static inline void fused_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                              long n_tokens, float* y, long y_stride, LoadRow load,
                              float fp8_unit) {
  const long cols = w.cols;
  const long full = cols / kWidth * kWidth;
  const bool fp8 = w.dtype == DType::kF8E4M3;
  const long block = fp8 ? w.block_cols : full;  // columns sharing one scale
  const long scale_cols = fp8 ? (cols + w.block_cols - 1) / w.block_cols : 1;
  const long elem = w.dtype == DType::kF32 ? 4 : w.dtype == DType::kF8E4M3 ? 1 : 2;
  const long step_bytes = 4 * kWidth * elem;  // weight bytes per step of four pieces
  for (long r = row_begin; r < row_end; ++r) {
    const float* scale_row = fp8 ? w.block_scales + (r / w.block_rows) * scale_cols : nullptr;
    const unsigned char* row = w.data + r * cols * elem;
    for (long t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * cols;
      Vec acc = zero();
      for (long c0 = 0; c0 < full; c0 += block) {
        const long c1 = c0 + block < full ? c0 + block : full;
        Vec b0 = zero(), b1 = zero(), b2 = zero(), b3 = zero();
        long c = c0;
        for (; c + 4 * kWidth <= c1; c += 4 * kWidth) {
          if (t == 0) {  // later tokens find the row in L1
            for (long o = 0; o < step_bytes; o += 64)
              __builtin_prefetch(row + c * elem + o + kPrefetchAhead, 0, 0);
          }
          b0 = fmadd(load(w, r, c), load_f32(xt + c), b0);
          b1 = fmadd(load(w, r, c + kWidth), load_f32(xt + c + kWidth), b1);
          b2 = fmadd(load(w, r, c + 2 * kWidth), load_f32(xt + c + 2 * kWidth), b2);
          b3 = fmadd(load(w, r, c + 3 * kWidth), load_f32(xt + c + 3 * kWidth), b3);
        }
        if (c < c1) b0 = fmadd(load(w, r, c), load_f32(xt + c), b0);
        if (c + kWidth < c1) b1 = fmadd(load(w, r, c + kWidth), load_f32(xt + c + kWidth), b1);
        if (c + 2 * kWidth < c1)
          b2 = fmadd(load(w, r, c + 2 * kWidth), load_f32(xt + c + 2 * kWidth), b2);
        const Vec b = add(add(b0, b1), add(b2, b3));
        acc = fp8 ? fmadd(b, set1(scale_row[c0 / w.block_cols] * fp8_unit), acc) : add(acc, b);
      }
      float out = hsum(acc);
      for (long c = full; c < cols; ++c) out += scalar_weight(w, r, c) * xt[c];
      y[t * y_stride + (r - row_begin)] = out;
    }
  }
}

// y for rows already dequantized into `tile` (float32 [rows, cols]): four rows by four tokens
// per step, so each loaded vector feeds four FMAs. The batched (prefill) path.
static inline void tile_block_f32(const float* tile, long n_rows, long cols, const float* x,
                                  long n_tokens, float* y, long y_stride) {
  const long full = cols / kWidth * kWidth;
  long r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const float* w0 = tile + r * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    long t = 0;
    for (; t + 4 <= n_tokens; t += 4) {
      const float* x0 = x + t * cols;
      const float* x1 = x0 + cols;
      const float* x2 = x1 + cols;
      const float* x3 = x2 + cols;
      Vec a00 = zero(), a01 = zero(), a02 = zero(), a03 = zero();
      Vec a10 = zero(), a11 = zero(), a12 = zero(), a13 = zero();
      Vec a20 = zero(), a21 = zero(), a22 = zero(), a23 = zero();
      Vec a30 = zero(), a31 = zero(), a32 = zero(), a33 = zero();
      for (long c = 0; c < full; c += kWidth) {
        const Vec v0 = load_f32(x0 + c), v1 = load_f32(x1 + c), v2 = load_f32(x2 + c),
                  v3 = load_f32(x3 + c);
        Vec wv = load_f32(w0 + c);
        a00 = fmadd(wv, v0, a00);
        a01 = fmadd(wv, v1, a01);
        a02 = fmadd(wv, v2, a02);
        a03 = fmadd(wv, v3, a03);
        wv = load_f32(w1 + c);
        a10 = fmadd(wv, v0, a10);
        a11 = fmadd(wv, v1, a11);
        a12 = fmadd(wv, v2, a12);
        a13 = fmadd(wv, v3, a13);
        wv = load_f32(w2 + c);
        a20 = fmadd(wv, v0, a20);
        a21 = fmadd(wv, v1, a21);
        a22 = fmadd(wv, v2, a22);
        a23 = fmadd(wv, v3, a23);
        wv = load_f32(w3 + c);
        a30 = fmadd(wv, v0, a30);
        a31 = fmadd(wv, v1, a31);
        a32 = fmadd(wv, v2, a32);
        a33 = fmadd(wv, v3, a33);
      }
      float out[4][4] = {{hsum(a00), hsum(a01), hsum(a02), hsum(a03)},
                         {hsum(a10), hsum(a11), hsum(a12), hsum(a13)},
                         {hsum(a20), hsum(a21), hsum(a22), hsum(a23)},
                         {hsum(a30), hsum(a31), hsum(a32), hsum(a33)}};
      const float* rows[4] = {w0, w1, w2, w3};
      const float* xs[4] = {x0, x1, x2, x3};
      for (long c = full; c < cols; ++c)
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) out[i][j] += rows[i][c] * xs[j][c];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) y[(t + j) * y_stride + r + i] = out[i][j];
    }
    for (; t < n_tokens; ++t) {
      const float* xt = x + t * cols;
      Vec a0 = zero(), a1 = zero(), a2 = zero(), a3 = zero();
      for (long c = 0; c < full; c += kWidth) {
        const Vec v = load_f32(xt + c);
        a0 = fmadd(load_f32(w0 + c), v, a0);
        a1 = fmadd(load_f32(w1 + c), v, a1);
        a2 = fmadd(load_f32(w2 + c), v, a2);
        a3 = fmadd(load_f32(w3 + c), v, a3);
      }
      float out[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
      for (long c = full; c < cols; ++c) {
        out[0] += w0[c] * xt[c];
        out[1] += w1[c] * xt[c];
        out[2] += w2[c] * xt[c];
        out[3] += w3[c] * xt[c];
      }
      for (int i = 0; i < 4; ++i) y[t * y_stride + r + i] = out[i];
    }
  }
  for (; r < n_rows; ++r) {
    const float* wr = tile + r * cols;
    for (long t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * cols;
      Vec a = zero();
      for (long c = 0; c < full; c += kWidth) a = fmadd(load_f32(wr + c), load_f32(xt + c), a);
      float out = hsum(a);
      for (long c = full; c < cols; ++c) out += wr[c] * xt[c];
      y[t * y_stride + r] = out;
    }
  }
}

// tile_block_f32 over blocks of 64 rows by 32 tokens, so that a block's activations stay in
// L2 while its rows are read (without blocking, every four rows streamed all of x again).
// Each output is the same sum in the same order as unblocked.
static inline void tile_rows_f32(const float* tile, long n_rows, long cols, const float* x,
                                 long n_tokens, float* y, long y_stride) {
  constexpr long kRows = 64, kTokens = 32;
  for (long r0 = 0; r0 < n_rows; r0 += kRows) {
    const long nr = n_rows - r0 < kRows ? n_rows - r0 : kRows;
    for (long t0 = 0; t0 < n_tokens; t0 += kTokens) {
      const long nt = n_tokens - t0 < kTokens ? n_tokens - t0 : kTokens;
      tile_block_f32(tile + r0 * cols, nr, cols, x + t0 * cols, nt, y + t0 * y_stride + r0,
                     y_stride);
    }
  }
}

// The batched product by broadcast, for eight or more tokens: the activations come transposed
// into token panels (transpose_to_panels in matmul.h: [panel][cols][kTokenPanel]), and for
// each column k a row's weight is broadcast against a vector of tokens. Each output is one
// lane summed over the columns in order (fmadd(w[r][k], x[t][k], acc)), the same whatever
// rows, tokens or threads share its group; no horizontal sums. kRowGroup rows by two vectors
// of tokens stay in registers; a C buffer ([rows][kTokenPanel]) carries the sums across blocks
// of kColBlock columns, so that a block of the panel stays in L2 for every row group.
constexpr long kRowGroup = kWidth == 16 ? 12 : 6;
constexpr long kColBlock = 1024;
constexpr long kPanelTileRows = 64;  // rows per C buffer (kPanelTileRows * kTokenPanel floats)

template <int R, int V>
static inline void panel_block(const float* w, long w_stride, long k0, long k1, const float* xp,
                               float* c, bool first) {
  Vec acc[R * V];
#pragma GCC unroll 32
  for (int i = 0; i < R * V; ++i)
    acc[i] = first ? zero() : load_f32(c + (i / V) * kTokenPanel + (i % V) * kWidth);
  for (long k = k0; k < k1; ++k) {
    Vec xv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) xv[v] = load_f32(xp + k * kTokenPanel + v * kWidth);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Vec wb = set1(w[r * w_stride + k]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r * V + v] = fmadd(wb, xv[v], acc[r * V + v]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < R * V; ++i) store(c + (i / V) * kTokenPanel + (i % V) * kWidth, acc[i]);
}

template <int V>
static inline void panel_rows_v(const float* w, long n_rows, long w_stride, long k0, long k1,
                                const float* xp, float* c, bool first) {
  long r = 0;
  for (; r + kRowGroup <= n_rows; r += kRowGroup)
    panel_block<kRowGroup, V>(w + r * w_stride, w_stride, k0, k1, xp, c + r * kTokenPanel, first);
  const long left = n_rows - r;
  const float* wr = w + r * w_stride;
  float* cr = c + r * kTokenPanel;
  with_count<kRowGroup - 1>(
      left, [&]<int R>() { panel_block<R, V>(wr, w_stride, k0, k1, xp, cr, first); });
}

// y[t * y_stride + r] for r < n_rows (weights w[r * w_stride + k], float32) and every token of
// the panels; c holds n_rows * kTokenPanel floats of scratch.
static inline void panel_rows_f32(const float* w, long n_rows, long w_stride, long cols,
                                  const float* panels, long n_tokens, float* y, long y_stride,
                                  float* c) {
  for (long p = 0; p * kTokenPanel < n_tokens; ++p) {
    const long t0 = p * kTokenPanel;
    const long nt = n_tokens - t0 < kTokenPanel ? n_tokens - t0 : kTokenPanel;
    const long vectors = (nt + kWidth - 1) / kWidth;
    const float* xp = panels + p * cols * kTokenPanel;
    for (long k0 = 0; k0 < cols; k0 += kColBlock) {
      const long k1 = k0 + kColBlock < cols ? k0 + kColBlock : cols;
      for (long v0 = 0; v0 < vectors; v0 += 2) {
        if (vectors - v0 >= 2)
          panel_rows_v<2>(w, n_rows, w_stride, k0, k1, xp + v0 * kWidth, c + v0 * kWidth, k0 == 0);
        else
          panel_rows_v<1>(w, n_rows, w_stride, k0, k1, xp + v0 * kWidth, c + v0 * kWidth, k0 == 0);
      }
    }
    for (long i = 0; i < nt; ++i) {  // along y's rows: each store continues the last one's line
      float* yt = y + (t0 + i) * y_stride;
      for (long r = 0; r < n_rows; ++r) yt[r] = c[r * kTokenPanel + i];
    }
  }
}

static inline bool fused_supported(const WeightMatrix& w) {
  if (w.dtype == DType::kF8E4M3) return w.block_cols % kWidth == 0;
  return w.dtype == DType::kF32 || w.dtype == DType::kBF16 || w.dtype == DType::kF16;
}

// out[(r - r0) * cols + c] = W[r, c] (exact float32, FP8 scaled).
template <typename LoadRow>
static inline void dequantize_tile(const WeightMatrix& w, long r0, long r1, float* out,
                                   LoadRow load, float fp8_unit) {
  const long cols = w.cols;
  const long full = cols / kWidth * kWidth;
  const bool fp8 = w.dtype == DType::kF8E4M3;
  const long scale_cols = fp8 ? (cols + w.block_cols - 1) / w.block_cols : 1;
  for (long r = r0; r < r1; ++r) {
    float* o = out + (r - r0) * cols;
    long c = 0;
    if (fp8 && w.block_cols % kWidth == 0) {
      const float* scale_row = w.block_scales + (r / w.block_rows) * scale_cols;
      for (; c < full; c += kWidth)
        store(o + c, mul(load(w, r, c), set1(scale_row[c / w.block_cols] * fp8_unit)));
    } else if (!fp8) {
      for (; c < full; c += kWidth) store(o + c, load(w, r, c));
    }
    for (; c < cols; ++c) o[c] = scalar_weight(w, r, c);
  }
}

// out[i] = the BF16 value in[i] as float32.
static inline void bf16_to_f32_simd(const unsigned short* in, float* out, long n) {
  long i = 0;
  for (; i + kWidth <= n; i += kWidth) store(out + i, load_bf16(in + i));
  for (; i < n; ++i) {
    const unsigned int bits = static_cast<unsigned int>(in[i]) << 16;
    __builtin_memcpy(out + i, &bits, 4);
  }
}

// Rows dequantized per tile in the batched path; sized so a tile stays in L2.
static inline long tile_rows_for(long cols) {
  return cols > 4096 ? 4 : cols > 2048 ? 16 : 64;
}

static void matmul_rows_simd(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                             const float* panels, long n_tokens, float* y, long y_stride,
                             float* tile, float* c_buf) {
  const long cols = w.cols;
  const auto f32 = [](const WeightMatrix& m, long r, long c) {
    return load_f32(reinterpret_cast<const float*>(m.data) + r * m.cols + c);
  };
  const auto bf16 = [](const WeightMatrix& m, long r, long c) {
    return load_bf16(reinterpret_cast<const unsigned short*>(m.data) + r * m.cols + c);
  };
  const auto f16 = [](const WeightMatrix& m, long r, long c) {
    return load_f16(reinterpret_cast<const unsigned short*>(m.data) + r * m.cols + c);
  };
  const auto fp8 = [](const WeightMatrix& m, long r, long c) {
    return load_fp8_raw(m.data + r * m.cols + c);  // true value / 256
  };
  if (n_tokens <= 4 && fused_supported(w)) {
    switch (w.dtype) {
      case DType::kF32:
        fused_rows(w, row_begin, row_end, x, n_tokens, y, y_stride, f32, 1.0f);
        return;
      case DType::kBF16:
        fused_rows(w, row_begin, row_end, x, n_tokens, y, y_stride, bf16, 1.0f);
        return;
      case DType::kF16:
        fused_rows(w, row_begin, row_end, x, n_tokens, y, y_stride, f16, 1.0f);
        return;
      case DType::kF8E4M3:
        fused_rows(w, row_begin, row_end, x, n_tokens, y, y_stride, fp8, 256.0f);
        return;
      default:
        break;
    }
  }
  if (w.dtype == DType::kF32) {
    const float* rows = reinterpret_cast<const float*>(w.data) + row_begin * cols;
    if (panels != nullptr) {
      for (long r0 = 0; r0 < row_end - row_begin; r0 += kPanelTileRows) {
        const long n =
            row_end - row_begin - r0 < kPanelTileRows ? row_end - row_begin - r0 : kPanelTileRows;
        panel_rows_f32(rows + r0 * cols, n, cols, cols, panels, n_tokens, y + r0, y_stride, c_buf);
      }
    } else {
      tile_rows_f32(rows, row_end - row_begin, cols, x, n_tokens, y, y_stride);
    }
    return;
  }
  // The broadcast kernel takes row groups of kRowGroup and blocks its columns itself: whole
  // groups per tile, however wide the rows (the tile scratch holds 64 rows).
  const long step =
      panels != nullptr ? (cols > 4096 ? kRowGroup * 2 : kRowGroup * 4) : tile_rows_for(cols);
  for (long r0 = row_begin; r0 < row_end; r0 += step) {
    const long r1 = r0 + step < row_end ? r0 + step : row_end;
    switch (w.dtype) {
      case DType::kBF16:
        dequantize_tile(w, r0, r1, tile, bf16, 1.0f);
        break;
      case DType::kF16:
        dequantize_tile(w, r0, r1, tile, f16, 1.0f);
        break;
      default:
        dequantize_tile(w, r0, r1, tile, fp8, 256.0f);
        break;
    }
    if (panels != nullptr)
      panel_rows_f32(tile, r1 - r0, cols, cols, panels, n_tokens, y + (r0 - row_begin), y_stride,
                     c_buf);
    else
      tile_rows_f32(tile, r1 - r0, cols, x, n_tokens, y + (r0 - row_begin), y_stride);
  }
}
