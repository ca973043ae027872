// Scalar (de)quantization of GGML block formats (formats/ggml_blocks.h has the layouts). The
// reference the int8 kernels are tested against, and the encoder of `whale quantize`.
#pragma once

#include <cstdint>

#include "formats/dtype.h"

namespace whale {

// dst[0, n) = the values of the blocks at src. n must be a multiple of
// dtype_block_elements(dtype); every block format of dtype.h is supported.
void dequantize_row(DType dtype, const void* src, float* dst, std::int64_t n);

// Whether quantize_row can encode dtype.
bool can_quantize(DType dtype);

// Encodes x[0, n) as blocks of dtype at dst (dtype_row_bytes(dtype, n) bytes), in the layout
// GGML decodes. n must be a multiple of the block size. Supported: Q4_0, Q8_0, Q4_K, Q6_K, Q8_K.
//  - Q8_0 / Q4_0 / Q8_K: one scale per block from its largest magnitude, codes rounded to nearest.
//  - Q4_K: per 32-value sub-block a weighted least-squares fit of scale and min over a sweep of
//    candidate scales (the search of GGML's make_qkx2_quants), then 6-bit super-block coding.
//  - Q6_K: per 16-value sub-block the scale maximizing the x^2-weighted fit over 19 candidate
//    code ranges (GGML's make_qx_quants, rmse_type 1), then 8-bit super-block coding.
void quantize_row(DType dtype, const float* x, void* dst, std::int64_t n);

// Activation blocks whose largest magnitude is below this quantize to zero codes (their
// scale stays amax / limit): the inverse scale would overflow.
inline constexpr float kTinyBlock = 1e-30f;

// Activations for the int8 kernels: x[0, n) in blocks of `block` values, each
// scale[b] = max|x| / 127 and q = round(x / scale) in [-127, 127] (never -128, so the kernels'
// sign trick is exact); a block holding NaN or infinity gets scale NaN and codes 0. When
// sums16 is not null, sums16[i] = the sum of q[16i, 16i + 16).
void quantize_int8_blocks(const float* x, std::int64_t n, std::int64_t block, std::int8_t* q,
                          float* scale, std::int16_t* sums16);

// Activations for the Q8_0 kernels: the same with 16-bit codes, scale[b] = max|x| / 32767 and
// q in [-32767, 32767]: the activation's rounding error is 258 times smaller than with int8
// codes, so a Q8_0 product stays within float rounding of the dequantized weights' product.
void quantize_int16_blocks(const float* x, std::int64_t n, std::int64_t block, std::int16_t* q,
                           float* scale);

}  // namespace whale
