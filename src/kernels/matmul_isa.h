// Per-ISA entry points of matmul (see matmul.h for the contract). `tile` holds at least
// 16 * w.cols floats of scratch.
#pragma once

#include "kernels/matmul.h"

namespace whale {
namespace isa_avx2 {
void matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                 long n_tokens, float* y, long y_stride, float* tile);
}
namespace isa_avx512 {
void matmul_rows(const WeightMatrix& w, long row_begin, long row_end, const float* x,
                 long n_tokens, float* y, long y_stride, float* tile);
}
}  // namespace whale
