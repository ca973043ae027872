// Per-ISA entry points of matmul (see matmul.h for the contract). `tile` holds at least
// 64 * w.cols floats of scratch, `c` 64 * kTokenPanel. With `panels` (x transposed by
// transpose_to_panels) products of many tokens take the broadcast kernel, else the tile one.
#pragma once

#include "kernels/matmul.h"

namespace whale {

struct Int8Activations;

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
// The Q8_0 panel kernel (a.q16_panels set); w16 and dw hold q8_0_panel_tile_rows(w.cols) rows
// of scratch (int16 values, float scales).
void q8_0_panel_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                     float* y, long y_stride, short* w16, float* dw);
// One token into lane `lane` of a Q8_0 activation panel: quant_matmul.cpp's
// quantize_panel_token, bit for bit.
void quantize_q8_0_panel_token(const float* x, long cols, short* panel, float* scales, long lane);
}  // namespace isa_avx2
namespace isa_avx512 {
void bf16_to_f32(const unsigned short* in, float* out, long n);
void matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                 const float* panels, long n_tokens, float* y, long y_stride, float* tile,
                 float* c);
void matmul_tile_f32(const float* tile, long n_rows, long cols, const float* x, const float* panels,
                     long n_tokens, float* y, long y_stride, float* c);
void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride);
// The Q8_0 panel kernel (a.q16_panels set); w16 and dw hold q8_0_panel_tile_rows(w.cols) rows
// of scratch (int16 values, float scales).
void q8_0_panel_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                     float* y, long y_stride, short* w16, float* dw, bool vnni);
// One token into lane `lane` of a Q8_0 activation panel: quant_matmul.cpp's
// quantize_panel_token, bit for bit.
void quantize_q8_0_panel_token(const float* x, long cols, short* panel, float* scales, long lane);
}  // namespace isa_avx512

}  // namespace whale
