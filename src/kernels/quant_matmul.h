// matmul on GGML block weights (Q8_0, Q4_K, Q6_K) with integer dot products: the activations
// are quantized once per call. Up to kRowKernelTokens tokens (decode), to int16 blocks of 32
// values for Q8_0 weights (8-bit weights leave the error budget to the weights: int8
// activations would add as much again, enough to flip greedy tokens of a Q8_0 model that float
// activations keep) and to int8 blocks of 256 with 16-value partial sums for the k-quants; for
// more tokens (prefill), to int16 blocks of 32 in token panels for every format. Every block
// product is an exact integer sum, and the float scales are applied in one fixed order, so
// every ISA path gives bit-identical results.
//
// The fixed order (the scalar twin in quant_matmul.cpp is its definition), with
// tree8(v) = ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)), the reduction of an 8-float register:
//  - Q8_0, up to kRowKernelTokens tokens: 32 float accumulators; the value pair l (values 2l,
//    2l+1, l < 16) of block b goes into accumulator 16 * (b % 2) + l as
//    acc = fma(float(sum of its two products), d_w[b] * d_x[b], acc); the result is tree8(u) with
//    u_k = (acc_k + acc_{k+16}) + (acc_{k+8} + acc_{k+24}).
//  - Q4_K, Q6_K, up to kRowKernelTokens tokens: per super-block, 16 exact integer lanes: the
//    value at activation position p (0..255, see Int8Activations::q for Q4_K's order) adds
//    scale * code * x to lane (p % 64) / 4 (Q6_K codes unsigned, 0..63, and lane
//    i < 8 less 32 * (sc_2i * xsum_2i + sc_2i+1 * xsum_2i+1) for the -32 offset); then
//    acc_i = acc_i + float(lane_i) * (d * d_x). Q4_K's mins: 8 integer lanes
//    m_j * (xsum_2j + xsum_2j+1), into acc_min_j = acc_min_j + float(.) * (dmin * d_x).
//    The result is tree8(acc_k + acc_{k+8}), minus tree8(acc_min) for Q4_K.
//    (xsum_i: the sum of the 16 int8 activations i of the super-block.)
//  - More tokens (the panel kernel), every format: one float accumulator per output; per
//    32-value block b in order, per sub-block s of it (the block for Q8_0 and Q4_K, its two
//    16-value halves for Q6_K) acc = fma(float(exact integer product of the codes), w_s * d_x[b],
//    acc), with w_s = d (Q8_0) or d * sc_s (k-quants, Q6_K codes less 32); then for Q4_K
//    acc = fma(float(sum of the block's activation codes), -(dmin * m_b) * d_x[b], acc).
#pragma once

#include <cstdint>

#include "kernels/matmul.h"

namespace whale {

// Weight formats with int8 kernels.
inline bool has_int8_kernel(DType dtype) {
  return dtype == DType::kQ8_0 || dtype == DType::kQ4_K || dtype == DType::kQ6_K;
}

// Integer products of up to this many tokens read each weight row once for all tokens
// (decode); larger ones take the panel kernel: a tile of rows widened to int16 codes once, then
// multiplied with vpdpwssd (vpmaddwd without VNNI) against kTokenPanel tokens at a time, twice
// the multiply-adds per instruction of the float32 broadcast kernel.
constexpr std::int64_t kRowKernelTokens = 16;
// Rows the panel kernel widens at once: they are reused across every panel of tokens.
inline std::int64_t panel_tile_rows(std::int64_t cols) {
  return cols > 4096 ? 12 : 48;
}

// Quantizes x ([n_tokens, cols]) for weights of `weight_dtype` into `storage` (grown, never
// shrunk); the view stays valid until storage's next use.
Int8Activations quantize_activations(DType weight_dtype, const float* x, std::int64_t n_tokens,
                                     std::int64_t cols, ActivationStorage& storage);
// The same into this thread's reusable scratch, valid until this thread's next call.
Int8Activations quantize_activations(DType weight_dtype, const float* x, std::int64_t n_tokens,
                                     std::int64_t cols);

// One token (cols values) into lane `lane` of an activation panel (Int8Activations::
// q16_panels; panel, scales and sums point at the panel's codes, scales and code sums): every
// ISA path gives the scalar one's results (an unsupported one falls back to scalar).
void quantize_panel_token(Isa isa, const float* x, std::int64_t cols, std::int16_t* panel,
                          float* scales, float* sums, std::int64_t lane);

// x (cols values, a multiple of 32) as int16 blocks of 32 with a scale each, the decode
// activations for Q8_0 weights: every ISA path gives quantize_int16_blocks' codes and scales.
void quantize_int16_row(Isa isa, const float* x, std::int64_t cols, std::int16_t* q, float* scales);
// x (cols values, a multiple of 256) as int8 blocks of 256 with a scale each and the sums of
// every 16 codes, the decode activations for k-quant weights: every ISA path gives
// quantize_int8_blocks' codes, scales and sums.
void quantize_int8_row(Isa isa, const float* x, std::int64_t cols, std::int8_t* q, float* scales,
                       std::int16_t* sums16);

// The integer kernels. kAvx512Vnni differs from kAvx512 only in summing int16 pair products
// with vpdpwssd instead of vpmaddwd + vpaddd (the panel kernel, and the k-quant decode kernels'
// scale products), with the same integers, so the same bits.
enum class Int8Kernel { kScalar, kAvx2, kAvx512, kAvx512Vnni };

bool int8_kernel_supported(Int8Kernel kernel);
// The kernel of an ISA path (scalar where the CPU lacks it).
Int8Kernel int8_kernel_for(Isa isa);

// y[t * y_stride + (r - row_begin)] for r in [row_begin, row_end), all tokens of `a`.
void int8_matmul_rows(Int8Kernel kernel, const WeightMatrix& w, std::int64_t row_begin,
                      std::int64_t row_end, const Int8Activations& a, float* y,
                      std::int64_t y_stride);

}  // namespace whale
