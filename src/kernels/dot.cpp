#include "kernels/dot.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

// GCC 12's AVX-512 headers build some reductions from _mm256_undefined_pd(), which
// -Wuninitialized reports inside the header; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // a GCC-only warning; clang rejects the unknown name under -Werror
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace whale {

#include "kernels/vector_exp-inl.h"

namespace {

using vector_exp::exp_avx2;
using vector_exp::exp_avx512;

float dot_scalar(const float* a, const float* b, std::int64_t n) {
  // Eight partial sums, combined pairwise: the order the SIMD twins also use per lane group.
  float s[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  for (int j = 0; i < n; ++i, ++j) s[j] += a[i] * b[i];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

__attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, std::int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
         s3 = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + tail;
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) float dot_avx512(const float* a,
                                                                               const float* b,
                                                                               std::int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(),
         s3 = _mm512_setzero_ps();
  std::int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

void axpy_scalar(float alpha, const float* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float alpha, const float* x, float* y,
                                                   std::int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) void axpy_avx512(float alpha,
                                                                               const float* x,
                                                                               float* y,
                                                                               std::int64_t n) {
  const __m512 a = _mm512_set1_ps(alpha);
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(a, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// Row values as float32: float rows as they are, BF16 rows widened (exactly), so a kernel on
// BF16 rows computes what it computes on their float32 copies.
inline float row_value(const float* p) {
  return *p;
}
inline float row_value(const std::uint16_t* p) {
  const std::uint32_t bits = static_cast<std::uint32_t>(*p) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) inline __m512 load_row16(
    const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) inline __m512 load_row16(
    const std::uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}
__attribute__((target("avx2,fma"))) inline __m256 load_row8(const float* p) {
  return _mm256_loadu_ps(p);
}
__attribute__((target("avx2,fma"))) inline __m256 load_row8(const std::uint16_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(
      _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

// axpy_rows_f32 for M rows of y at once, one vector of columns at a time.
template <int M, typename X>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) void axpy_rows_avx512_m(
    const float* a, std::int64_t a_stride, const X* x, std::int64_t x_stride, std::int64_t k,
    float* y, std::int64_t y_stride, std::int64_t n) {
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 acc[M];
    for (int j = 0; j < M; ++j) acc[j] = _mm512_maskz_loadu_ps(m, y + j * y_stride + i);
    for (std::int64_t b = 0; b < k; ++b) {
      const __m512 r = load_row16(x + b * x_stride + i, m);
      for (int j = 0; j < M; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(a[j * a_stride + b]), r, acc[j]);
    }
    for (int j = 0; j < M; ++j) _mm512_mask_storeu_ps(y + j * y_stride + i, m, acc[j]);
  }
}

template <int M, typename X>
__attribute__((target("avx2,fma"))) void axpy_rows_avx2_m(const float* a, std::int64_t a_stride,
                                                          const X* x, std::int64_t x_stride,
                                                          std::int64_t k, float* y,
                                                          std::int64_t y_stride, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 acc[M];
    for (int j = 0; j < M; ++j) acc[j] = _mm256_loadu_ps(y + j * y_stride + i);
    for (std::int64_t b = 0; b < k; ++b) {
      const __m256 r = load_row8(x + b * x_stride + i);
      for (int j = 0; j < M; ++j)
        acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(a[j * a_stride + b]), r, acc[j]);
    }
    for (int j = 0; j < M; ++j) _mm256_storeu_ps(y + j * y_stride + i, acc[j]);
  }
  for (; i < n; ++i)  // the tail as axpy_avx2's
    for (int j = 0; j < M; ++j)
      for (std::int64_t b = 0; b < k; ++b)
        y[j * y_stride + i] += a[j * a_stride + b] * row_value(x + b * x_stride + i);
}

template <typename X>
using AxpyRowsFn = void (*)(const float*, std::int64_t, const X*, std::int64_t, std::int64_t,
                            float*, std::int64_t, std::int64_t);

template <typename X>
AxpyRowsFn<X> axpy_rows_kernel(Isa isa, std::int64_t m) {
  static constexpr AxpyRowsFn<X> kAvx512[6] = {axpy_rows_avx512_m<1, X>, axpy_rows_avx512_m<2, X>,
                                               axpy_rows_avx512_m<3, X>, axpy_rows_avx512_m<4, X>,
                                               axpy_rows_avx512_m<5, X>, axpy_rows_avx512_m<6, X>};
  static constexpr AxpyRowsFn<X> kAvx2[6] = {axpy_rows_avx2_m<1, X>, axpy_rows_avx2_m<2, X>,
                                             axpy_rows_avx2_m<3, X>, axpy_rows_avx2_m<4, X>,
                                             axpy_rows_avx2_m<5, X>, axpy_rows_avx2_m<6, X>};
  return isa == Isa::kAvx512 ? kAvx512[m - 1] : kAvx2[m - 1];
}

// dot_rows_f32 for Q queries by R rows, all held in registers (a flat array: GCC keeps a
// two-dimensional one in memory as well, storing every accumulator on every step).
template <int Q, int R, typename X>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) inline void dot_rows_avx512_step(
    const float* q, std::int64_t q_stride, const X* x, std::int64_t x_stride, std::int64_t i,
    __mmask16 m, __m512* acc) {
  __m512 r[R];
#pragma GCC unroll 8
  for (int b = 0; b < R; ++b) r[b] = load_row16(x + b * x_stride + i, m);
#pragma GCC unroll 8
  for (int j = 0; j < Q; ++j) {
    const __m512 qv = _mm512_maskz_loadu_ps(m, q + j * q_stride + i);
#pragma GCC unroll 8
    for (int b = 0; b < R; ++b) acc[j * R + b] = _mm512_fmadd_ps(qv, r[b], acc[j * R + b]);
  }
}

template <int Q, int R, typename X>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) void dot_rows_avx512_qr(
    const float* q, std::int64_t q_stride, const X* x, std::int64_t x_stride, float* out,
    std::int64_t out_stride, std::int64_t n) {
  __m512 acc[Q * R];
#pragma GCC unroll 32
  for (int k = 0; k < Q * R; ++k) acc[k] = _mm512_setzero_ps();
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    dot_rows_avx512_step<Q, R, X>(q, q_stride, x, x_stride, i, static_cast<__mmask16>(0xffff), acc);
  if (i < n)
    dot_rows_avx512_step<Q, R, X>(q, q_stride, x, x_stride, i,
                                  static_cast<__mmask16>((1u << (n - i)) - 1), acc);
#pragma GCC unroll 8
  for (int j = 0; j < Q; ++j)
#pragma GCC unroll 8
    for (int b = 0; b < R; ++b) out[j * out_stride + b] = _mm512_reduce_add_ps(acc[j * R + b]);
}

template <int Q, int R, typename X>
__attribute__((target("avx2,fma"))) void dot_rows_avx2_qr(const float* q, std::int64_t q_stride,
                                                          const X* x, std::int64_t x_stride,
                                                          float* out, std::int64_t out_stride,
                                                          std::int64_t n) {
  __m256 acc[Q][R];
  for (int j = 0; j < Q; ++j)
    for (int b = 0; b < R; ++b) acc[j][b] = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 r[R];
#pragma GCC unroll 8
    for (int b = 0; b < R; ++b) r[b] = load_row8(x + b * x_stride + i);
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) {
      const __m256 qv = _mm256_loadu_ps(q + j * q_stride + i);
#pragma GCC unroll 8
      for (int b = 0; b < R; ++b) acc[j][b] = _mm256_fmadd_ps(qv, r[b], acc[j][b]);
    }
  }
  for (int j = 0; j < Q; ++j)
    for (int b = 0; b < R; ++b) {
      float tail = 0.0f;
      for (std::int64_t t = i; t < n; ++t)
        tail += q[j * q_stride + t] * row_value(x + b * x_stride + t);
      out[j * out_stride + b] = hsum256(acc[j][b]) + tail;
    }
}

template <typename X>
using DotRowsFn = void (*)(const float*, std::int64_t, const X*, std::int64_t, float*, std::int64_t,
                           std::int64_t);

// Queries per call: six on AVX-512 (24 accumulators of its 32 registers), two on AVX2 (8 of
// its 16).
template <int Q, typename X>
DotRowsFn<X> dot_rows_avx512_kernel(std::int64_t r) {
  static constexpr DotRowsFn<X> kTable[4] = {
      dot_rows_avx512_qr<Q, 1, X>, dot_rows_avx512_qr<Q, 2, X>, dot_rows_avx512_qr<Q, 3, X>,
      dot_rows_avx512_qr<Q, 4, X>};
  return kTable[r - 1];
}

template <int Q, typename X>
DotRowsFn<X> dot_rows_avx2_kernel(std::int64_t r) {
  static constexpr DotRowsFn<X> kTable[4] = {dot_rows_avx2_qr<Q, 1, X>, dot_rows_avx2_qr<Q, 2, X>,
                                             dot_rows_avx2_qr<Q, 3, X>, dot_rows_avx2_qr<Q, 4, X>};
  return kTable[r - 1];
}

template <typename X>
DotRowsFn<X> dot_rows_kernel(Isa isa, std::int64_t q, std::int64_t r) {
  if (isa == Isa::kAvx2)
    return q == 1 ? dot_rows_avx2_kernel<1, X>(r) : dot_rows_avx2_kernel<2, X>(r);
  switch (q) {
    case 1:
      return dot_rows_avx512_kernel<1, X>(r);
    case 2:
      return dot_rows_avx512_kernel<2, X>(r);
    case 3:
      return dot_rows_avx512_kernel<3, X>(r);
    case 4:
      return dot_rows_avx512_kernel<4, X>(r);
    case 5:
      return dot_rows_avx512_kernel<5, X>(r);
    default:
      return dot_rows_avx512_kernel<6, X>(r);
  }
}

// The scalar paths on BF16 rows: each row widened into this buffer first.
thread_local std::vector<float> widened_row;

const float* as_f32(const float* x, std::int64_t) {
  return x;
}
const float* as_f32(const std::uint16_t* x, std::int64_t n) {
  if (static_cast<std::int64_t>(widened_row.size()) < n)
    widened_row.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) widened_row[static_cast<std::size_t>(i)] = row_value(x + i);
  return widened_row.data();
}

template <typename X>
void axpy_rows_any(Isa isa, const float* a, std::int64_t a_stride, std::int64_t m, const X* x,
                   std::int64_t x_stride, std::int64_t k, float* y, std::int64_t y_stride,
                   std::int64_t n) {
  if (isa == Isa::kScalar || !isa_supported(isa)) {
    for (std::int64_t j = 0; j < m; ++j)
      for (std::int64_t b = 0; b < k; ++b)
        axpy_scalar(a[j * a_stride + b], as_f32(x + b * x_stride, n), y + j * y_stride, n);
    return;
  }
  for (std::int64_t j0 = 0; j0 < m; j0 += 6) {
    const std::int64_t mj = std::min<std::int64_t>(6, m - j0);
    axpy_rows_kernel<X>(isa, mj)(a + j0 * a_stride, a_stride, x, x_stride, k, y + j0 * y_stride,
                                 y_stride, n);
  }
}

template <typename X>
void dot_rows_any(Isa isa, const float* q, std::int64_t q_stride, std::int64_t m, const X* x,
                  std::int64_t x_stride, std::int64_t k, float* out, std::int64_t out_stride,
                  std::int64_t n) {
  if (isa == Isa::kScalar || !isa_supported(isa)) {
    for (std::int64_t j = 0; j < m; ++j)
      for (std::int64_t b = 0; b < k; ++b)
        out[j * out_stride + b] = dot_scalar(q + j * q_stride, as_f32(x + b * x_stride, n), n);
    return;
  }
  const std::int64_t max_q = isa == Isa::kAvx512 ? 6 : 2;
  for (std::int64_t j0 = 0; j0 < m; j0 += max_q) {
    const std::int64_t qn = std::min(max_q, m - j0);
    for (std::int64_t b0 = 0; b0 < k; b0 += 4) {
      const std::int64_t rn = std::min<std::int64_t>(4, k - b0);
      dot_rows_kernel<X>(isa, qn, rn)(q + j0 * q_stride, q_stride, x + b0 * x_stride, x_stride,
                                      out + j0 * out_stride + b0, out_stride, n);
    }
  }
}

__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) void exp_shifted_avx512(
    float* v, std::int64_t n, float shift) {
  const __m512 s = _mm512_set1_ps(shift);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m =
        n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, v + i), s);
    _mm512_mask_storeu_ps(v + i, m, exp_avx512(x));
  }
}

__attribute__((target("avx2,fma"))) void exp_shifted_avx2(float* v, std::int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(v + i, exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(v + i), s)));
  if (i < n) {
    float tail[8] = {};
    for (std::int64_t j = i; j < n; ++j) tail[j - i] = v[j] - shift;
    _mm256_storeu_ps(tail, exp_avx2(_mm256_loadu_ps(tail)));
    for (std::int64_t j = i; j < n; ++j) v[j] = tail[j - i];
  }
}

using AxpyFn = void (*)(float, const float*, float*, std::int64_t);

AxpyFn axpy_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return axpy_avx512;
    case Isa::kAvx2:
      return axpy_avx2;
    case Isa::kScalar:
      return axpy_scalar;
  }
  return axpy_scalar;
}

using DotFn = float (*)(const float*, const float*, std::int64_t);

DotFn dot_for(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return dot_avx512;
    case Isa::kAvx2:
      return dot_avx2;
    case Isa::kScalar:
      return dot_scalar;
  }
  return dot_scalar;
}

}  // namespace

float dot_f32(const float* a, const float* b, std::int64_t n) {
  static const DotFn fn = dot_for(active_isa());
  return fn(a, b, n);
}

float dot_f32_isa(Isa isa, const float* a, const float* b, std::int64_t n) {
  return dot_for(isa)(a, b, n);
}

void axpy_f32(float alpha, const float* x, float* y, std::int64_t n) {
  static const AxpyFn fn = axpy_for(active_isa());
  fn(alpha, x, y, n);
}

void axpy_f32_isa(Isa isa, float alpha, const float* x, float* y, std::int64_t n) {
  axpy_for(isa)(alpha, x, y, n);
}

void axpy_rows_f32_isa(Isa isa, const float* a, std::int64_t a_stride, std::int64_t m,
                       const float* x, std::int64_t x_stride, std::int64_t k, float* y,
                       std::int64_t y_stride, std::int64_t n) {
  axpy_rows_any(isa, a, a_stride, m, x, x_stride, k, y, y_stride, n);
}

void axpy_rows_bf16_isa(Isa isa, const float* a, std::int64_t a_stride, std::int64_t m,
                        const std::uint16_t* x, std::int64_t x_stride, std::int64_t k, float* y,
                        std::int64_t y_stride, std::int64_t n) {
  axpy_rows_any(isa, a, a_stride, m, x, x_stride, k, y, y_stride, n);
}

void axpy_rows_bf16(const float* a, std::int64_t a_stride, std::int64_t m, const std::uint16_t* x,
                    std::int64_t x_stride, std::int64_t k, float* y, std::int64_t y_stride,
                    std::int64_t n) {
  static const Isa isa = active_isa();
  axpy_rows_any(isa, a, a_stride, m, x, x_stride, k, y, y_stride, n);
}

void dot_rows_f32_isa(Isa isa, const float* q, std::int64_t q_stride, std::int64_t m,
                      const float* x, std::int64_t x_stride, std::int64_t k, float* out,
                      std::int64_t out_stride, std::int64_t n) {
  dot_rows_any(isa, q, q_stride, m, x, x_stride, k, out, out_stride, n);
}

void dot_rows_bf16_isa(Isa isa, const float* q, std::int64_t q_stride, std::int64_t m,
                       const std::uint16_t* x, std::int64_t x_stride, std::int64_t k, float* out,
                       std::int64_t out_stride, std::int64_t n) {
  dot_rows_any(isa, q, q_stride, m, x, x_stride, k, out, out_stride, n);
}

void dot_rows_bf16(const float* q, std::int64_t q_stride, std::int64_t m, const std::uint16_t* x,
                   std::int64_t x_stride, std::int64_t k, float* out, std::int64_t out_stride,
                   std::int64_t n) {
  static const Isa isa = active_isa();
  dot_rows_any(isa, q, q_stride, m, x, x_stride, k, out, out_stride, n);
}

void dot_rows_f32(const float* q, std::int64_t q_stride, std::int64_t m, const float* x,
                  std::int64_t x_stride, std::int64_t k, float* out, std::int64_t out_stride,
                  std::int64_t n) {
  static const Isa isa = active_isa();
  dot_rows_f32_isa(isa, q, q_stride, m, x, x_stride, k, out, out_stride, n);
}

void exp_shifted_isa(Isa isa, float* v, std::int64_t n, float shift) {
  if (isa == Isa::kAvx512 && isa_supported(isa)) return exp_shifted_avx512(v, n, shift);
  if (isa != Isa::kScalar && isa_supported(Isa::kAvx2)) return exp_shifted_avx2(v, n, shift);
  for (std::int64_t i = 0; i < n; ++i) v[i] = std::exp(v[i] - shift);
}

void exp_shifted(float* v, std::int64_t n, float shift) {
  static const Isa isa = active_isa();
  exp_shifted_isa(isa, v, n, shift);
}

void axpy_rows_f32(const float* a, std::int64_t a_stride, std::int64_t m, const float* x,
                   std::int64_t x_stride, std::int64_t k, float* y, std::int64_t y_stride,
                   std::int64_t n) {
  static const Isa isa = active_isa();
  axpy_rows_f32_isa(isa, a, a_stride, m, x, x_stride, k, y, y_stride, n);
}

}  // namespace whale
