// Integer kernels for AVX-512 F/BW/VL/DQ (quant_matmul_avx512-inl.h).
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

#include "kernels/quant_matmul_avx512-inl.h"

}  // namespace

void int8_matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const Int8Activations& a,
                      float* y, long y_stride) {
  int8_rows(w, row_begin, row_end, a, y, y_stride);
}

}  // namespace whale::isa_avx512
