// Per-ISA entry points of matmul (see matmul.h for the contract). `tile` holds at least
// 64 * w.cols floats of scratch, `c` 64 * kTokenPanel. With `panels` (x transposed by
// transpose_to_panels) products of many tokens take the broadcast kernel, else the tile one.
#pragma once

#include "kernels/matmul.h"

namespace whale {

struct Int8Activations;

// How far ahead of its loads, in bytes of weights, a decode kernel (integer or float)
// prefetches, non-temporal: the weights are read once per step and should not evict the
// activations. A decode step streams many short matrices and the hardware prefetchers start
// each 4 KiB page cold: v3-bench decode, A/B, Q4_K_M +4%, Q8_0 +3-9%; a BF16 8192x1536 product
// read 49-57 GB/s without, 65-68 with.
constexpr long kPrefetchAhead = 4096;

// A few rows of an integer-format weight widened for the panel kernel (quant_matmul.h): the
// codes as int16 (Q4_K 0..15, Q6_K less 32), a float scale per sub-block of `pairs` value pairs
// (d for Q8_0, d * sc for the k-quants) and, for Q4_K, dmin * m per 32-value block.
struct WidenedRows {
  const short* w16 = nullptr;    // [rows][cols]
  const float* scale = nullptr;  // [rows][cols / (2 * pairs)]
  const float* min = nullptr;    // [rows][cols / 32], Q4_K only
  long rows = 0, cols = 0;
  int pairs = 16;  // 16, or 8 for Q6_K's 16-value sub-blocks
};

namespace isa_avx2 {
void bf16_to_f32(const unsigned short* in, float* out, long n);
void matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                 const float* panels, long n_tokens, float* y, long y_stride, float* tile,
                 float* c);
// y for float32 rows already dequantized into tile ([n_rows, cols]).
void matmul_tile_f32(const float* tile, long n_rows, long cols, const float* x, const float* panels,
                     long n_tokens, float* y, long y_stride, float* c);
void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride);
// The panel kernel (a.q16_panels set) on rows widened by quant_matmul.cpp: y[t * y_stride + r]
// for the rows of w.
void panel_rows(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride);
// One token into lane `lane` of an activation panel: quant_matmul.cpp's quantize_panel_token,
// bit for bit.
void quantize_panel_token(const float* x, long cols, short* panel, float* scales, float* sums,
                          long lane);
// quantize_int16_blocks with blocks of 32 (cols a multiple of 32), bit for bit.
void quantize_int16_row(const float* x, long cols, short* q, float* scales);
// quantize_int8_blocks with blocks of 256 and 16-value sums (cols a multiple of 256), bit
// for bit.
void quantize_int8_row(const float* x, long cols, signed char* q, float* scales, short* sums16);
}  // namespace isa_avx2
namespace isa_avx512 {
void bf16_to_f32(const unsigned short* in, float* out, long n);
void matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                 const float* panels, long n_tokens, float* y, long y_stride, float* tile,
                 float* c);
void matmul_tile_f32(const float* tile, long n_rows, long cols, const float* x, const float* panels,
                     long n_tokens, float* y, long y_stride, float* c);
// vnni: vpdpwssd in place of vpmaddwd + vpaddd (the same integers, so the same bits).
void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride, bool vnni);
// The panel kernel (a.q16_panels set) on rows widened by quant_matmul.cpp: y[t * y_stride + r]
// for the rows of w.
void panel_rows(const WidenedRows& w, const Int8Activations& a, float* y, long y_stride, bool vnni);
// One token into lane `lane` of an activation panel: quant_matmul.cpp's quantize_panel_token,
// bit for bit.
void quantize_panel_token(const float* x, long cols, short* panel, float* scales, float* sums,
                          long lane);
// quantize_int16_blocks with blocks of 32 (cols a multiple of 32), bit for bit.
void quantize_int16_row(const float* x, long cols, short* q, float* scales);
// quantize_int8_blocks with blocks of 256 and 16-value sums (cols a multiple of 256), bit
// for bit.
void quantize_int8_row(const float* x, long cols, signed char* q, float* scales, short* sums16);
}  // namespace isa_avx512

}  // namespace whale
