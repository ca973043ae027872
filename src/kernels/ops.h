// Elementwise and row operations of the transformer in float32.
#pragma once

#include <cstdint>

#include "kernels/cpu_features.h"

namespace whale {

// out = weight ⊙ x / sqrt(mean(x²) + eps), all in float32 (docs section 7). out may alias x.
void rms_norm(const float* x, const float* weight, std::int64_t n, double eps, float* out);

// gate[i] = silu(gate[i]) * up[i], silu(z) = z / (1 + e^-z): exactly so on the scalar path
// (std::exp), within a few ulp on the SIMD ones (exp_shifted's polynomial).
void silu_mul(float* gate, const float* up, std::int64_t n);
void silu_mul_isa(Isa isa, float* gate, const float* up, std::int64_t n);

// In-place numerically stable softmax: exp_shifted after the maximum, the sum in float64.
void softmax(float* x, std::int64_t n);

}  // namespace whale
