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

}  // namespace whale
