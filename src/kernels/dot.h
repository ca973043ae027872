// Dot products of float32 vectors, one implementation per ISA. The dispatched entry point
// picks the best the host runs (kernels/cpu_features.h).
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace whale {

float dot_f32(const float* a, const float* b, std::int64_t n);
float dot_f32_isa(Isa isa, const float* a, const float* b, std::int64_t n);

// y[i] += alpha * x[i]
void axpy_f32(float alpha, const float* x, float* y, std::int64_t n);
void axpy_f32_isa(Isa isa, float alpha, const float* x, float* y, std::int64_t n);

// Several axpys over shared x rows: y[j * y_stride + i] += a[j * a_stride + b] *
// x[b * x_stride + i] for j < m, b < k, i < n, each (j, i) taking the terms in order of b
// exactly as k calls of axpy_f32 on that ISA would. Each x row is loaded once for up to six
// y rows held in registers (attention: cached rows weighted per head).
void axpy_rows_f32(const float* a, std::int64_t a_stride, std::int64_t m, const float* x,
                   std::int64_t x_stride, std::int64_t k, float* y, std::int64_t y_stride,
                   std::int64_t n);
void axpy_rows_f32_isa(Isa isa, const float* a, std::int64_t a_stride, std::int64_t m,
                       const float* x, std::int64_t x_stride, std::int64_t k, float* y,
                       std::int64_t y_stride, std::int64_t n);

// Dot products of m query rows with k rows: out[j * out_stride + b] = Σ_i q[j * q_stride + i] *
// x[b * x_stride + i] over i < n, for j < m, b < k. Each (j, b) takes the same operations
// however m and k are grouped on an ISA (one accumulator of the ISA's width over the columns
// in order, the tail masked or added last, then the ISA's fixed reduction), so a score does
// not depend on how many queries or rows share a call. Up to six queries by four rows share
// each load (attention: every head's query against a block of cached rows).
void dot_rows_f32(const float* q, std::int64_t q_stride, std::int64_t m, const float* x,
                  std::int64_t x_stride, std::int64_t k, float* out, std::int64_t out_stride,
                  std::int64_t n);
void dot_rows_f32_isa(Isa isa, const float* q, std::int64_t q_stride, std::int64_t m,
                      const float* x, std::int64_t x_stride, std::int64_t k, float* out,
                      std::int64_t out_stride, std::int64_t n);

// axpy_rows_f32 and dot_rows_f32 on BF16 rows x (an attention cache's), widened in registers:
// exactly the results of the float32 versions on the rows converted to float32.
void axpy_rows_bf16(const float* a, std::int64_t a_stride, std::int64_t m, const std::uint16_t* x,
                    std::int64_t x_stride, std::int64_t k, float* y, std::int64_t y_stride,
                    std::int64_t n);
void axpy_rows_bf16_isa(Isa isa, const float* a, std::int64_t a_stride, std::int64_t m,
                        const std::uint16_t* x, std::int64_t x_stride, std::int64_t k, float* y,
                        std::int64_t y_stride, std::int64_t n);
void dot_rows_bf16(const float* q, std::int64_t q_stride, std::int64_t m, const std::uint16_t* x,
                   std::int64_t x_stride, std::int64_t k, float* out, std::int64_t out_stride,
                   std::int64_t n);
void dot_rows_bf16_isa(Isa isa, const float* q, std::int64_t q_stride, std::int64_t m,
                       const std::uint16_t* x, std::int64_t x_stride, std::int64_t k, float* out,
                       std::int64_t out_stride, std::int64_t n);

// v[i] = exp(v[i] - shift) for i < n, where every v[i] - shift <= 0 (softmax after its
// maximum): within a few ulp of std::exp on the SIMD paths (a degree-6 polynomial on the
// reduced argument), std::exp itself on the scalar one. Arguments below -87.3 (and -inf)
// give 0 on every path but the scalar one, where std::exp gives its subnormals there.
void exp_shifted(float* v, std::int64_t n, float shift);
void exp_shifted_isa(Isa isa, float* v, std::int64_t n, float shift);

}  // namespace whale
