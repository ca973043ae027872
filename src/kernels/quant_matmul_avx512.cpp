// int8 kernels for AVX-512 F/BW/VL/DQ without VNNI (quant_matmul_avx512-inl.h).
#include <immintrin.h>

#include "formats/ggml_blocks.h"
#include "kernels/matmul_isa.h"
#include "kernels/quant_matmul.h"

// See matmul_avx512.cpp: GCC 12's AVX-512 headers trip -Wuninitialized inside the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace whale::isa_avx512 {
namespace {

inline __m512i dot_u8s8(__m512i u, __m512i s) {
  return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
}
inline __m256i dot_u8s8_256(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

#include "kernels/quant_matmul_avx512-inl.h"

}  // namespace

void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride) {
  int8_rows(w, row_begin, row_end, a, y, y_stride);
}

}  // namespace whale::isa_avx512
