// The per-ISA entry points of matmul_isa.h, included by matmul_avx2.cpp and matmul_avx512.cpp
// in their ISA namespace after matmul_simd-inl.h: the same bodies on each ISA's kernels.

void matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                 const float* panels, long n_tokens, float* y, long y_stride, float* tile,
                 float* c) {
  matmul_rows_simd(w, row_begin, row_end, x, panels, n_tokens, y, y_stride, tile, c);
}

void bf16_to_f32(const unsigned short* in, float* out, long n) {
  bf16_to_f32_simd(in, out, n);
}

void matmul_tile_f32(const float* tile, long n_rows, long cols, const float* x, const float* panels,
                     long n_tokens, float* y, long y_stride, float* c) {
  if (panels != nullptr)
    panel_rows_f32(tile, n_rows, cols, cols, panels, n_tokens, y, y_stride, c);
  else
    tile_rows_f32(tile, n_rows, cols, x, n_tokens, y, y_stride);
}
