// The loop shared by every SIMD int8 kernel (quant_matmul.h): rows in blocks of 16, tokens in
// groups of up to 4 within a block, so a group's activations stay in L1 while the block's
// weight rows are read; with 1-4 tokens (decode) each weight row is read once for all of them.
// The including file defines, for each weight format, a kernel type with
//   template <int N> void run(const unsigned char* row, long t0, float* out) const
// giving out[i] for tokens t0 + i, i < N; its per-token result must not depend on N. A kernel
// may also define
//   void run_rows4(const unsigned char* row, long row_bytes, long t0, float* out) const
// giving out[i] for token t0 and row i of the four starting at `row`, with run<1>'s bits.
// No standard library here (see matmul_simd-inl.h).

// Rows up to this long go four at a time for one token (kernels with run_rows4): 128 Q8_0
// values, the absorbed attention's k_b. A 6144x128 product read 36 -> 46-51 GB/s from memory,
// 43 -> 65 hot, and v3-bench's k_b step took 54-58 instead of 64-75 ms per 200 tokens. Longer
// rows lose: the experts' down rows (256 values) took 205-211 instead of 194-200 ms in the
// model, and a 2048x512 product read 55 -> 40-46 GB/s from memory.
constexpr long kRows4MaxBytes = 192;

template <typename Kernel>
static void tiled_rows(const WeightMatrix& w, long row_begin, long row_end, long n_tokens,
                       long row_bytes, float* y, long y_stride, const Kernel& kernel) {
  constexpr long kRowBlock = 16;
  for (long r0 = row_begin; r0 < row_end; r0 += kRowBlock) {
    const long r1 = r0 + kRowBlock < row_end ? r0 + kRowBlock : row_end;
    for (long t0 = 0; t0 < n_tokens; t0 += 4) {
      const long n = n_tokens - t0 < 4 ? n_tokens - t0 : 4;
      long r = r0;
      if constexpr (requires(float* o) { kernel.run_rows4(w.data, row_bytes, t0, o); }) {
        // One token: short rows four at a time where the kernel can. Long rows stay one at a
        // time: four far-apart streams defeat the prefetchers (a 129280x1536 Q8_0 product read
        // 52 GB/s one row at a time, 35 four at a time).
        if (n == 1 && row_bytes <= kRows4MaxBytes) {
          for (; r + 4 <= r1; r += 4) {
            float out[4];
            kernel.run_rows4(w.data + r * row_bytes, row_bytes, t0, out);
            for (long i = 0; i < 4; ++i) y[t0 * y_stride + (r + i - row_begin)] = out[i];
          }
        }
      }
      for (; r < r1; ++r) {
        const unsigned char* row = w.data + r * row_bytes;
        float out[4];
        switch (n) {
          case 1:
            kernel.template run<1>(row, t0, out);
            break;
          case 2:
            kernel.template run<2>(row, t0, out);
            break;
          case 3:
            kernel.template run<3>(row, t0, out);
            break;
          default:
            kernel.template run<4>(row, t0, out);
            break;
        }
        for (long i = 0; i < n; ++i) y[(t0 + i) * y_stride + (r - row_begin)] = out[i];
      }
    }
  }
}

// Dispatch on the weight format; Q8_0Kernel, Q4KKernel and Q6KKernel take (activations, blocks
// per row).
static void int8_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride) {
  switch (w.dtype) {
    case DType::kQ8_0: {
      const long nb = w.cols / kQK;
      tiled_rows(w, row_begin, row_end, a.n_tokens, nb * static_cast<long>(sizeof(BlockQ8_0)), y,
                 y_stride, Q8_0Kernel{a, nb});
      return;
    }
    case DType::kQ4_K: {
      const long nb = w.cols / kQK_K;
      tiled_rows(w, row_begin, row_end, a.n_tokens, nb * static_cast<long>(sizeof(BlockQ4_K)), y,
                 y_stride, Q4KKernel{a, nb});
      return;
    }
    default: {
      const long nb = w.cols / kQK_K;
      tiled_rows(w, row_begin, row_end, a.n_tokens, nb * static_cast<long>(sizeof(BlockQ6_K)), y,
                 y_stride, Q6KKernel{a, nb});
      return;
    }
  }
}
