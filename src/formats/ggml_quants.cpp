#include "formats/ggml_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "formats/ggml_blocks.h"
#include "formats/scalar_formats.h"
#include "util/error.h"

namespace whale {
namespace {

// The value at index j (0..31) of a 32-value block whose 16 bytes hold two nibbles each:
// the first half in the low nibbles, the second half in the high nibbles.
inline int nibble32(const std::uint8_t* qs, int j) {
  return j < 16 ? qs[j] & 0xf : qs[j - 16] >> 4;
}

void dequantize_q4_0(const BlockQ4_0* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(nibble32(b[i].qs, j) - 8) * d;
  }
}

void dequantize_q4_1(const BlockQ4_1* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d), m = half_to_float(b[i].m);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(nibble32(b[i].qs, j)) * d + m;
  }
}

template <typename Block>
inline int q5_code(const Block& b, int j) {
  std::uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  return nibble32(b.qs, j) | static_cast<int>(((qh >> j) & 1u) << 4);
}

void dequantize_q5_0(const BlockQ5_0* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(q5_code(b[i], j) - 16) * d;
  }
}

void dequantize_q5_1(const BlockQ5_1* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d), m = half_to_float(b[i].m);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(q5_code(b[i], j)) * d + m;
  }
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void dequantize_q8_1(const BlockQ8_1* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

// Q2_K and Q3_K share an order: per half of 128 values, four 2-bit planes (shift 0, 2, 4, 6)
// of the same 32 bytes, each plane two sub-blocks of 16.
void dequantize_q2_k(const BlockQ2_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    int sub = 0;
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(b[i].scales[sub] & 0xf);
          const float ml = dmin * static_cast<float>(b[i].scales[sub] >> 4);
          for (int l = 0; l < 16; ++l)
            *y++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

// The sixteen 6-bit scales of a Q3_K block, minus 32: low four bits from bytes 0-7 (low
// nibble for scales 0-7, high nibble for 8-15), top two from bytes 8-11.
void q3_k_scales(const std::uint8_t* packed, int* out) {
  for (int s = 0; s < 16; ++s) {
    const int low = s < 8 ? packed[s] & 0xf : packed[s - 8] >> 4;
    const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
    out[s] = (low | (high << 4)) - 32;
  }
}

void dequantize_q3_k(const BlockQ3_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(b[i].d);
    int scales[16];
    q3_k_scales(b[i].scales, scales);
    int sub = 0, plane = 0;
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, ++plane) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * static_cast<float>(scales[sub]);
          for (int l = 0; l < 16; ++l) {
            const int low = (q[16 * part + l] >> shift) & 3;
            const bool high = b[i].hmask[16 * part + l] & (1u << plane);
            *y++ = dl * static_cast<float>(low - (high ? 0 : 4));
          }
        }
      }
    }
  }
}

void dequantize_q4_k(const BlockQ4_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int j = 0; j < 8; ++j) {  // sub-block j: nibble j % 2 of bytes [32 (j / 2), +32)
      int sc, m;
      k_scale_min(j, b[i].scales, &sc, &m);
      const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
      const std::uint8_t* q = b[i].qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l)
        *y++ = dl * static_cast<float>(j % 2 ? q[l] >> 4 : q[l] & 0xf) - ml;
    }
  }
}

void dequantize_q5_k(const BlockQ5_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int j = 0; j < 8; ++j) {  // the fifth bit of sub-block j is bit j of qh[l]
      int sc, m;
      k_scale_min(j, b[i].scales, &sc, &m);
      const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
      const std::uint8_t* q = b[i].qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        const int code = (j % 2 ? q[l] >> 4 : q[l] & 0xf) | (((b[i].qh[l] >> j) & 1) << 4);
        *y++ = dl * static_cast<float>(code) - ml;
      }
    }
  }
}

void dequantize_q6_k(const BlockQ6_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(b[i].d);
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* ql = b[i].ql + 64 * half;
      const std::uint8_t* qh = b[i].qh + 32 * half;
      const std::int8_t* sc = b[i].scales + 8 * half;
      for (int k = 0; k < 4; ++k) {  // quarter k: 32 values (q6_k_code)
        for (int l = 0; l < 32; ++l) {
          const int code = q6_k_code(ql, qh, k, l);
          *y++ = d * static_cast<float>(sc[2 * k + l / 16]) * static_cast<float>(code - 32);
        }
      }
    }
  }
}

void dequantize_q8_k(const BlockQ8_K* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i)
    for (int j = 0; j < kQK_K; ++j) *y++ = b[i].d * static_cast<float>(b[i].qs[j]);
}

void dequantize_iq4_nl(const BlockIQ4_NL* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(kIq4nlValues[nibble32(b[i].qs, j)]);
  }
}

void dequantize_iq4_xs(const BlockIQ4_XS* b, float* y, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i) {
    const float d = half_to_float(b[i].d);
    for (int s = 0; s < 8; ++s, y += kQK) {
      const int low = (b[i].scales_l[s / 2] >> (4 * (s % 2))) & 0xf;
      const int high = (b[i].scales_h >> (2 * s)) & 3;
      const float dl = d * static_cast<float>((low | (high << 4)) - 32);
      for (int j = 0; j < kQK; ++j)
        y[j] = dl * static_cast<float>(kIq4nlValues[nibble32(b[i].qs + 16 * s, j)]);
    }
  }
}

inline int round_to_int(float f) {
  return static_cast<int>(std::lrint(f));
}

void quantize_q8_0(const float* x, BlockQ8_0* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float inv = d > 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    // Halves away from zero (roundf), as ggml's quantize_row_q8_0_ref: BF16 weights hit exact
    // halves, and llama-quantize's Q8_0 bytes are the reference.
    for (int j = 0; j < kQK; ++j)
      b[i].qs[j] =
          static_cast<std::int8_t>(std::clamp(static_cast<int>(std::round(x[j] * inv)), -127, 127));
  }
}

void quantize_q4_0(const float* x, BlockQ4_0* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK) {
    // The signed extreme maps to code 0 (-8 * d), which uses the asymmetric range fully.
    float extreme = 0.0f;
    for (int j = 0; j < kQK; ++j)
      if (std::fabs(x[j]) > std::fabs(extreme)) extreme = x[j];
    const float d = extreme / -8.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int j = 0; j < 16; ++j) {
      const int lo = std::clamp(round_to_int(x[j] * inv) + 8, 0, 15);
      const int hi = std::clamp(round_to_int(x[j + 16] * inv) + 8, 0, 15);
      b[i].qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
    }
  }
}

// Codes L in [0, nmax] and (scale, min >= 0) with x ~ scale * L - min, minimizing the
// weighted squared error: start from the range [min(x, 0), max(x)], then try nstep + 1
// stretched code ranges and refit scale and min by weighted least squares for each.
float fit_scale_min(int n, int nmax, const float* x, const float* w, std::uint8_t* L,
                    float* min_out) {
  constexpr float kRangeStart = -1.0f, kRangeStep = 0.1f;
  constexpr int kSteps = 20;
  float lo = x[0], hi = x[0], sum_w = 0.0f, sum_x = 0.0f;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  lo = std::min(lo, 0.0f);
  if (hi == lo) {
    std::fill(L, L + n, 0);
    *min_out = -lo;
    return 0.0f;
  }
  float scale = (hi - lo) / static_cast<float>(nmax);
  float offset = lo;  // x ~ scale * L + offset, offset <= 0
  float best = 0.0f;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<std::uint8_t>(std::clamp(round_to_int((x[i] - lo) / scale), 0, nmax));
    const float diff = scale * static_cast<float>(L[i]) + lo - x[i];
    best += w[i] * diff * diff;
  }
  std::uint8_t trial[kQK];
  for (int step = 0; step <= kSteps; ++step) {
    const float inv =
        (kRangeStart + kRangeStep * static_cast<float>(step) + static_cast<float>(nmax)) /
        (hi - lo);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(round_to_int(inv * (x[i] - lo)), 0, nmax);
      trial[i] = static_cast<std::uint8_t>(l);
      const float fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.0f) continue;
    float s = (sum_w * sum_xl - sum_x * sum_l) / det;
    float o = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (o > 0.0f) {  // a positive offset cannot be stored (mins are subtracted): refit without
      o = 0.0f;
      s = sum_xl / sum_l2;
    }
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = s * static_cast<float>(trial[i]) + o - x[i];
      err += w[i] * diff * diff;
    }
    if (err < best) {
      best = err;
      scale = s;
      offset = o;
      std::copy(trial, trial + n, L);
    }
  }
  *min_out = -offset;
  return scale;
}

void quantize_q4_k(const float* x, BlockQ4_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float scales[8], mins[8], weights[kQK];
    std::uint8_t L[kQK_K];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      const float* xs = x + 32 * j;
      float sum_x2 = 0.0f;
      for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
      // Weights favor large magnitudes, floored by the sub-block's RMS (as GGML does).
      const float rms = std::sqrt(sum_x2 / 32.0f);
      for (int l = 0; l < 32; ++l) weights[l] = rms + std::fabs(xs[l]);
      scales[j] = fit_scale_min(32, 15, xs, weights, L + 32 * j, &mins[j]);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    int ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
      ls[j] = std::min(63, round_to_int(inv_scale * scales[j]));
      lm[j] = std::min(63, round_to_int(inv_min * mins[j]));
    }
    std::memset(b[i].scales, 0, sizeof(b[i].scales));
    for (int j = 0; j < 8; ++j) {  // the inverse of k_scale_min
      if (j < 4) {
        b[i].scales[j] = static_cast<std::uint8_t>(ls[j]);
        b[i].scales[j + 4] = static_cast<std::uint8_t>(lm[j]);
      } else {
        b[i].scales[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xf) | ((lm[j] & 0xf) << 4));
        b[i].scales[j - 4] |= static_cast<std::uint8_t>((ls[j] >> 4) << 6);
        b[i].scales[j] |= static_cast<std::uint8_t>((lm[j] >> 4) << 6);
      }
    }
    b[i].d = f32_to_f16(max_scale / 63.0f);
    b[i].dmin = f32_to_f16(max_min / 63.0f);
    // Re-derive the codes against the scales as stored (rounded to 6 bits and f16).
    const float d = half_to_float(b[i].d), dmin = half_to_float(b[i].dmin);
    for (int j = 0; j < 8; ++j) {
      const float dl = d * static_cast<float>(ls[j]);
      if (dl == 0.0f) continue;  // codes are irrelevant; keep the fitted ones
      const float ml = dmin * static_cast<float>(lm[j]);
      for (int l = 0; l < 32; ++l)
        L[32 * j + l] =
            static_cast<std::uint8_t>(std::clamp(round_to_int((x[32 * j + l] + ml) / dl), 0, 15));
    }
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * g + l] = static_cast<std::uint8_t>(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
  }
}

// Codes L in [-nmax, nmax) and a scale with x ~ scale * L, maximizing the x^2-weighted fit
// over code ranges nmax + 0.1 k, k in [-9, 9] (the largest magnitude maps to -range).
float fit_scale_symmetric(int n, int nmax, const float* x, int* L) {
  float extreme = 0.0f, amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  if (amax < 1e-15f) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  float best_scale = 0.0f, best = -1.0f;
  int trial[kQK];
  for (int k = 0; k <= 18; ++k) {
    // Try the plain range first (k = 0 ~ offset 0), then the others; ties keep the earlier.
    const int offset = k == 0 ? 0 : (k <= 9 ? -k : k - 9);
    const float inv = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(offset)) / extreme;
    float sum_lx = 0.0f, sum_l2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(round_to_int(inv * x[i]), -nmax, nmax - 1);
      trial[i] = l;
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * static_cast<float>(l);
      sum_l2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    if (sum_l2 <= 0.0f) continue;
    // For the least-squares scale sum_lx / sum_l2 the error falls as sum_lx^2 / sum_l2 grows.
    const float score = sum_lx * sum_lx / sum_l2;
    if (score > best) {
      best = score;
      best_scale = sum_lx / sum_l2;
      std::copy(trial, trial + n, L);
    }
  }
  return best_scale;
}

void quantize_q6_k(const float* x, BlockQ6_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K) {
    float scales[16];
    int L[kQK_K];
    float max_scale = 0.0f, max_abs_scale = 0.0f;
    for (int s = 0; s < 16; ++s) {
      scales[s] = fit_scale_symmetric(16, 32, x + 16 * s, L + 16 * s);
      if (std::fabs(scales[s]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    std::memset(b + i, 0, sizeof(BlockQ6_K));
    if (max_abs_scale < 1e-15f) {
      std::fill(L, L + kQK_K, 0);
    } else {
      const float inv = -128.0f / max_scale;
      b[i].d = f32_to_f16(1.0f / inv);
      for (int s = 0; s < 16; ++s)
        b[i].scales[s] = static_cast<std::int8_t>(std::min(127, round_to_int(inv * scales[s])));
      const float d = half_to_float(b[i].d);
      for (int s = 0; s < 16; ++s) {
        const float dl = d * static_cast<float>(b[i].scales[s]);
        for (int l = 0; l < 16; ++l)
          L[16 * s + l] = dl == 0.0f ? 0 : std::clamp(round_to_int(x[16 * s + l] / dl), -32, 31);
      }
    }
    for (int half = 0; half < 2; ++half) {
      std::uint8_t* ql = b[i].ql + 64 * half;
      std::uint8_t* qh = b[i].qh + 32 * half;
      const int* c = L + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const int q0 = c[l] + 32, q1 = c[l + 32] + 32, q2 = c[l + 64] + 32, q3 = c[l + 96] + 32;
        ql[l] = static_cast<std::uint8_t>((q0 & 0xf) | ((q2 & 0xf) << 4));
        ql[l + 32] = static_cast<std::uint8_t>((q1 & 0xf) | ((q3 & 0xf) << 4));
        qh[l] = static_cast<std::uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) |
                                          ((q3 >> 4) << 6));
      }
    }
  }
}

void quantize_q8_k(const float* x, BlockQ8_K* b, std::int64_t nb) {
  for (std::int64_t i = 0; i < nb; ++i, x += kQK_K)
    quantize_int8_blocks(x, kQK_K, kQK_K, b[i].qs, &b[i].d, b[i].bsums);
}

}  // namespace

void dequantize_row(DType dtype, const void* src, float* dst, std::int64_t n) {
  const std::int64_t nb = n / dtype_block_elements(dtype);
  switch (dtype) {
    case DType::kQ4_0:
      return dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case DType::kQ4_1:
      return dequantize_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case DType::kQ5_0:
      return dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
    case DType::kQ5_1:
      return dequantize_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
    case DType::kQ8_0:
      return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case DType::kQ8_1:
      return dequantize_q8_1(static_cast<const BlockQ8_1*>(src), dst, nb);
    case DType::kQ2_K:
      return dequantize_q2_k(static_cast<const BlockQ2_K*>(src), dst, nb);
    case DType::kQ3_K:
      return dequantize_q3_k(static_cast<const BlockQ3_K*>(src), dst, nb);
    case DType::kQ4_K:
      return dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case DType::kQ5_K:
      return dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
    case DType::kQ6_K:
      return dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    case DType::kQ8_K:
      return dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb);
    case DType::kIQ4_NL:
      return dequantize_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, nb);
    case DType::kIQ4_XS:
      return dequantize_iq4_xs(static_cast<const BlockIQ4_XS*>(src), dst, nb);
    default:
      fail("dequantize_row: {} is not a GGML block format", dtype_name(dtype));
  }
}

bool can_quantize(DType dtype) {
  return dtype == DType::kQ4_0 || dtype == DType::kQ8_0 || dtype == DType::kQ4_K ||
         dtype == DType::kQ6_K || dtype == DType::kQ8_K;
}

void quantize_row(DType dtype, const float* x, void* dst, std::int64_t n) {
  if (!can_quantize(dtype)) fail("quantize_row: cannot encode {}", dtype_name(dtype));
  if (n % dtype_block_elements(dtype) != 0)
    fail("quantize_row: {} values are not whole {} blocks", n, dtype_name(dtype));
  const std::int64_t nb = n / dtype_block_elements(dtype);
  switch (dtype) {
    case DType::kQ4_0:
      return quantize_q4_0(x, static_cast<BlockQ4_0*>(dst), nb);
    case DType::kQ8_0:
      return quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), nb);
    case DType::kQ4_K:
      return quantize_q4_k(x, static_cast<BlockQ4_K*>(dst), nb);
    case DType::kQ6_K:
      return quantize_q6_k(x, static_cast<BlockQ6_K*>(dst), nb);
    default:
      return quantize_q8_k(x, static_cast<BlockQ8_K*>(dst), nb);
  }
}

namespace {

// Round to nearest, ties to even (lrint in the default rounding mode) for |f| < 2^22, inline
// so the loops below vectorize.
inline float round_small(float f) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: the sum keeps no fraction bits
  return (f + kMagic) - kMagic;
}

// One block of quantize_int8_blocks / quantize_int16_blocks: codes in [-limit, limit].
template <typename Code>
void quantize_block(const float* x, std::int64_t n, int limit, Code* q, float* scale) {
  // max|x| on the bit patterns (for non-negative floats their order is the integers'), an
  // integer reduction that vectorizes; at or above infinity's pattern means NaN or infinity.
  std::int32_t top = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    std::int32_t bits;
    std::memcpy(&bits, x + j, 4);
    bits &= 0x7fffffff;
    top = bits > top ? bits : top;
  }
  float amax;
  std::memcpy(&amax, &top, 4);
  if (top >= 0x7f800000) {
    // A NaN or infinity makes the block's scale NaN, so that it reaches every output it
    // feeds as it would in float arithmetic.
    *scale = std::numeric_limits<float>::quiet_NaN();
    std::fill(q, q + n, Code{0});
    return;
  }
  const float lim = static_cast<float>(limit);
  *scale = amax / lim;
  // Blocks below kTinyBlock (lim / amax would overflow) quantize to zeros.
  const float inv = amax >= kTinyBlock ? lim / amax : 0.0f;
  for (std::int64_t j = 0; j < n; ++j) {
    const float v = std::clamp(round_small(x[j] * inv), -lim, lim);
    q[j] = static_cast<Code>(static_cast<int>(v));
  }
}

}  // namespace

void quantize_int8_blocks(const float* x, std::int64_t n, std::int64_t block, std::int8_t* q,
                          float* scale, std::int16_t* sums16) {
  for (std::int64_t b0 = 0; b0 < n; b0 += block)
    quantize_block(x + b0, block, 127, q + b0, scale + b0 / block);
  if (sums16 != nullptr) {
    for (std::int64_t g = 0; g < n / 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += q[16 * g + j];
      sums16[g] = static_cast<std::int16_t>(s);
    }
  }
}

void quantize_int16_blocks(const float* x, std::int64_t n, std::int64_t block, std::int16_t* q,
                           float* scale) {
  for (std::int64_t b0 = 0; b0 < n; b0 += block)
    quantize_block(x + b0, block, 32767, q + b0, scale + b0 / block);
}

}  // namespace whale
