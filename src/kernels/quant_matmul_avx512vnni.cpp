// int8 kernels for AVX-512 with VNNI (quant_matmul_avx512-inl.h): vpdpbusd sums four
// unsigned x signed byte products into each int32 lane in one instruction.
#include <immintrin.h>

#include "formats/ggml_blocks.h"
#include "kernels/matmul_isa.h"
#include "kernels/quant_matmul.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace whale::isa_avx512vnni {
namespace {

inline __m512i dot_u8s8(__m512i u, __m512i s) {
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
}
inline __m256i dot_u8s8_256(__m256i u, __m256i s) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
}

#include "kernels/quant_matmul_avx512-inl.h"

}  // namespace

void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride) {
  int8_rows(w, row_begin, row_end, a, y, y_stride);
}

}  // namespace whale::isa_avx512vnni
