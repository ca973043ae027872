// The scalar twin of the int8 kernels (the definition of their results), activation
// quantization and dispatch. See quant_matmul.h for the order of float operations.
#include "kernels/quant_matmul.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "formats/ggml_blocks.h"
#include "formats/ggml_quants.h"
#include "kernels/matmul_isa.h"

namespace whale {
namespace {

thread_local ActivationStorage activation_scratch;
thread_local std::vector<std::int16_t> panel_weights;  // the panel kernel's widened rows
thread_local std::vector<float> panel_weight_scales, panel_weight_mins;

template <typename T>
void grow(std::vector<T>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
}

// Where value e of a super-block sits in Q4_K's activation order (quant_matmul.h).
int q4_k_position(int e) {
  const int quarter = (e % 128) / 32;
  const int swapped = quarter == 1 ? 2 : quarter == 2 ? 1 : quarter;
  return e - 32 * quarter + 32 * swapped;
}

float tree8(const float* v) {
  return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

float dot_q8_0(const BlockQ8_0* w, const std::int16_t* xq, const float* xd, std::int64_t nb) {
  float acc[32] = {};
  for (std::int64_t b = 0; b < nb; ++b) {
    const float p = half_to_float(w[b].d) * xd[b];
    for (int l = 0; l < 16; ++l) {
      const int s =
          w[b].qs[2 * l] * xq[32 * b + 2 * l] + w[b].qs[2 * l + 1] * xq[32 * b + 2 * l + 1];
      float& a = acc[16 * (b % 2) + l];
      a = std::fma(static_cast<float>(s), p, a);
    }
  }
  float u[8];
  for (int k = 0; k < 8; ++k) u[k] = (acc[k] + acc[k + 16]) + (acc[k + 8] + acc[k + 24]);
  return tree8(u);
}

// One token into lane `lane` of an activation panel (Int8Activations::q16_panels): the
// definition the SIMD versions match bit for bit (the same float operations per value).
void quantize_panel_token_scalar(const float* x, std::int64_t cols, std::int16_t* panel,
                                 float* scales, float* sums, std::int64_t lane) {
  std::int16_t q[kQK];
  for (std::int64_t b = 0; b < cols / kQK; ++b) {
    quantize_int16_blocks(x + kQK * b, kQK, kQK, q, scales + b * kTokenPanel + lane);
    std::int32_t sum = 0;
    for (std::int64_t k = 0; k < kQK / 2; ++k) {
      panel[((kQK / 2 * b + k) * kTokenPanel + lane) * 2] = q[2 * k];
      panel[((kQK / 2 * b + k) * kTokenPanel + lane) * 2 + 1] = q[2 * k + 1];
      sum += q[2 * k] + q[2 * k + 1];
    }
    sums[b * kTokenPanel + lane] = static_cast<float>(sum);
  }
}

// Rows [r0, r1) of w widened for the panel kernel into this thread's scratch (matmul_isa.h).
WidenedRows widen_rows(const WeightMatrix& w, std::int64_t r0, std::int64_t r1) {
  WidenedRows out;
  out.rows = r1 - r0;
  out.cols = w.cols;
  out.pairs = w.dtype == DType::kQ6_K ? 8 : 16;
  const std::int64_t cols = w.cols, nb = cols / kQK, nsub = cols / (2 * out.pairs);
  grow(panel_weights, out.rows * cols);
  grow(panel_weight_scales, out.rows * nsub);
  if (w.dtype == DType::kQ4_K) grow(panel_weight_mins, out.rows * nb);
  const std::int64_t row_bytes = dtype_row_bytes(w.dtype, cols);
  for (std::int64_t r = 0; r < out.rows; ++r) {
    const std::uint8_t* row = w.data + (r0 + r) * row_bytes;
    std::int16_t* q = panel_weights.data() + r * cols;
    float* scale = panel_weight_scales.data() + r * nsub;
    switch (w.dtype) {
      case DType::kQ8_0: {
        const auto* blocks = reinterpret_cast<const BlockQ8_0*>(row);
        for (std::int64_t b = 0; b < nb; ++b) {
          scale[b] = half_to_float(blocks[b].d);
          for (int k = 0; k < kQK; ++k) q[kQK * b + k] = blocks[b].qs[k];
        }
        break;
      }
      case DType::kQ4_K: {
        const auto* blocks = reinterpret_cast<const BlockQ4_K*>(row);
        float* min = panel_weight_mins.data() + r * nb;
        for (std::int64_t s = 0; s < cols / kQK_K; ++s) {
          const float d = half_to_float(blocks[s].d), dmin = half_to_float(blocks[s].dmin);
          for (int j = 0; j < 8; ++j) {  // sub-block j: nibble j % 2 of bytes 32 (j / 2) + [0, 32)
            int sc, m;
            k_scale_min(j, blocks[s].scales, &sc, &m);
            scale[8 * s + j] = d * static_cast<float>(sc);
            min[8 * s + j] = dmin * static_cast<float>(m);
            const std::uint8_t* codes = blocks[s].qs + 32 * (j / 2);
            std::int16_t* o = q + kQK_K * s + 32 * j;
            for (int l = 0; l < 32; ++l) o[l] = j % 2 ? codes[l] >> 4 : codes[l] & 0xf;
          }
        }
        break;
      }
      default: {  // Q6_K, as dequantize_q6_k orders its values
        const auto* blocks = reinterpret_cast<const BlockQ6_K*>(row);
        for (std::int64_t s = 0; s < cols / kQK_K; ++s) {
          const float d = half_to_float(blocks[s].d);
          for (int i = 0; i < 16; ++i)
            scale[16 * s + i] = d * static_cast<float>(blocks[s].scales[i]);
          for (int half = 0; half < 2; ++half) {
            const std::uint8_t* ql = blocks[s].ql + 64 * half;
            const std::uint8_t* qh = blocks[s].qh + 32 * half;
            std::int16_t* o = q + kQK_K * s + 128 * half;
            for (int k = 0; k < 4; ++k)
              for (int l = 0; l < 32; ++l)
                o[32 * k + l] = static_cast<std::int16_t>(q6_k_code(ql, qh, k, l) - 32);
          }
        }
        break;
      }
    }
  }
  out.w16 = panel_weights.data();
  out.scale = panel_weight_scales.data();
  out.min = w.dtype == DType::kQ4_K ? panel_weight_mins.data() : nullptr;
  return out;
}

// The panel kernel's definition (quant_matmul.h) on widened rows: y[t * y_stride + r].
void panel_rows_scalar(const WidenedRows& w, const Int8Activations& a, float* y,
                       std::int64_t y_stride) {
  const std::int64_t cols = w.cols, nb = cols / kQK, nsub = cols / (2 * w.pairs);
  for (std::int64_t r = 0; r < w.rows; ++r) {
    for (std::int64_t t = 0; t < a.n_tokens; ++t) {
      const std::int64_t p = t / kTokenPanel, lane = t % kTokenPanel;
      const std::int16_t* panel = a.q16_panels + p * kTokenPanel * cols;
      const float* xs = a.scale + p * kTokenPanel * nb;
      const float* xsum = a.panel_sums + p * kTokenPanel * nb;
      const std::int16_t* q = w.w16 + r * cols;
      float acc = 0.0f;
      for (std::int64_t b = 0; b < nb; ++b) {
        const float dx = xs[b * kTokenPanel + lane];
        for (std::int64_t v0 = kQK * b; v0 < kQK * (b + 1); v0 += 2 * w.pairs) {
          std::int32_t sum = 0;
          for (std::int64_t v = v0; v < v0 + 2 * w.pairs; ++v)
            sum += q[v] * panel[((v / 2) * kTokenPanel + lane) * 2 + v % 2];
          acc = std::fma(static_cast<float>(sum), w.scale[r * nsub + v0 / (2 * w.pairs)] * dx, acc);
        }
        if (w.min != nullptr)
          acc = std::fma(xsum[b * kTokenPanel + lane], -w.min[r * nb + b] * dx, acc);
      }
      y[t * y_stride + r] = acc;
    }
  }
}

float dot_q4_k(const BlockQ4_K* w, const std::int8_t* xq, const float* xd, const std::int16_t* xs,
               std::int64_t nb) {
  float acc[16] = {}, acc_min[8] = {};
  for (std::int64_t b = 0; b < nb; ++b, xq += kQK_K, xs += 16) {
    int sc[8], m[8];
    for (int j = 0; j < 8; ++j) k_scale_min(j, w[b].scales, &sc[j], &m[j]);
    int lane[16] = {};
    for (int j = 0; j < 8; ++j) {  // sub-block j: nibble j % 2 of bytes 32 (j / 2) + [0, 32)
      const std::uint8_t* q = w[b].qs + 32 * (j / 2);
      const int p0 = q4_k_position(32 * j);  // its 32 activations are contiguous from here
      int dot[8] = {};
      for (int l = 0; l < 32; ++l) dot[l / 4] += (j % 2 ? q[l] >> 4 : q[l] & 0xf) * xq[p0 + l];
      for (int i = 0; i < 8; ++i) lane[(p0 % 64) / 4 + i] += sc[j] * dot[i];
    }
    const float dd = half_to_float(w[b].d) * xd[b];
    const float dm = half_to_float(w[b].dmin) * xd[b];
    for (int i = 0; i < 16; ++i) acc[i] = acc[i] + static_cast<float>(lane[i]) * dd;
    for (int j = 0; j < 8; ++j)
      acc_min[j] = acc_min[j] + static_cast<float>(m[j] * xs[2 * j] + m[j] * xs[2 * j + 1]) * dm;
  }
  float s[8];
  for (int k = 0; k < 8; ++k) s[k] = acc[k] + acc[k + 8];
  return tree8(s) - tree8(acc_min);
}

float dot_q6_k(const BlockQ6_K* w, const std::int8_t* xq, const float* xd, const std::int16_t* xs,
               std::int64_t nb) {
  float acc[16] = {};
  for (std::int64_t b = 0; b < nb; ++b, xq += kQK_K, xs += 16) {
    int lane[16] = {};
    for (int half = 0; half < 2; ++half) {
      const std::uint8_t* ql = w[b].ql + 64 * half;
      const std::uint8_t* qh = w[b].qh + 32 * half;
      for (int k = 0; k < 4; ++k) {  // values 128 half + 32k + [0, 32): lanes 8 (k % 2) + l / 4
        const std::int8_t* x = xq + 128 * half + 32 * k;
        for (int part = 0; part < 2; ++part) {  // 16-value sub-blocks, one scale each
          const int sc = w[b].scales[8 * half + 2 * k + part];
          int dot[4] = {};
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            dot[(l % 16) / 4] += q6_k_code(ql, qh, k, l) * x[l];
          }
          for (int i = 0; i < 4; ++i) lane[8 * (k % 2) + 4 * part + i] += sc * dot[i];
        }
      }
    }
    for (int i = 0; i < 8; ++i)
      lane[i] -= 32 * (w[b].scales[2 * i] * xs[2 * i] + w[b].scales[2 * i + 1] * xs[2 * i + 1]);
    const float dd = half_to_float(w[b].d) * xd[b];
    for (int i = 0; i < 16; ++i) acc[i] = acc[i] + static_cast<float>(lane[i]) * dd;
  }
  float s[8];
  for (int k = 0; k < 8; ++k) s[k] = acc[k] + acc[k + 8];
  return tree8(s);
}

void int8_matmul_rows_scalar(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                             const Int8Activations& a, float* y, std::int64_t y_stride) {
  const std::int64_t row_bytes = dtype_row_bytes(w.dtype, w.cols);
  const std::int64_t nb = w.cols / dtype_block_elements(w.dtype);
  const std::int64_t scales_per_token = w.cols / a.block;
  for (std::int64_t r = row_begin; r < row_end; ++r) {
    const std::uint8_t* row = w.data + r * row_bytes;
    for (std::int64_t t = 0; t < a.n_tokens; ++t) {
      const std::int8_t* xq = a.q != nullptr ? a.q + t * w.cols : nullptr;
      const float* xd = a.scale + t * scales_per_token;
      const std::int16_t* xs = a.sums16 != nullptr ? a.sums16 + t * (w.cols / 16) : nullptr;
      float out;
      switch (w.dtype) {
        case DType::kQ8_0:
          out = dot_q8_0(reinterpret_cast<const BlockQ8_0*>(row), a.q16 + t * w.cols, xd, nb);
          break;
        case DType::kQ4_K:
          out = dot_q4_k(reinterpret_cast<const BlockQ4_K*>(row), xq, xd, xs, nb);
          break;
        default:
          out = dot_q6_k(reinterpret_cast<const BlockQ6_K*>(row), xq, xd, xs, nb);
          break;
      }
      y[t * y_stride + (r - row_begin)] = out;
    }
  }
}

}  // namespace

Int8Activations quantize_activations(DType weight_dtype, const float* x, std::int64_t n_tokens,
                                     std::int64_t cols) {
  return quantize_activations(weight_dtype, x, n_tokens, cols, activation_scratch);
}

Int8Activations quantize_activations(DType weight_dtype, const float* x, std::int64_t n_tokens,
                                     std::int64_t cols, ActivationStorage& s) {
  Int8Activations a;
  a.n_tokens = n_tokens;
  a.cols = cols;
  if (n_tokens > kRowKernelTokens) {
    // Int16 blocks of 32, each token straight into its lane of a panel: value pairs as one
    // 32-bit word, token-minor; scales and code sums per block likewise.
    a.block = kQK;
    const std::int64_t nb = cols / kQK, panels = (n_tokens + kTokenPanel - 1) / kTokenPanel;
    grow(s.q16, panels * kTokenPanel * cols);
    grow(s.scale, panels * kTokenPanel * nb);
    grow(s.panel_sums, panels * kTokenPanel * nb);
    const Isa isa = active_isa();
    for (std::int64_t t = 0; t < panels * kTokenPanel; ++t) {
      const std::int64_t p = t / kTokenPanel, lane = t % kTokenPanel;
      std::int16_t* panel = s.q16.data() + p * kTokenPanel * cols;
      float* scales = s.scale.data() + p * kTokenPanel * nb;
      float* sums = s.panel_sums.data() + p * kTokenPanel * nb;
      if (t >= n_tokens) {  // padding: zero codes, scales and sums
        for (std::int64_t k = 0; k < cols / 2; ++k)
          panel[(k * kTokenPanel + lane) * 2] = panel[(k * kTokenPanel + lane) * 2 + 1] = 0;
        for (std::int64_t b = 0; b < nb; ++b)
          scales[b * kTokenPanel + lane] = sums[b * kTokenPanel + lane] = 0.0f;
      } else {
        quantize_panel_token(isa, x + t * cols, cols, panel, scales, sums, lane);
      }
    }
    a.q16_panels = s.q16.data();
    a.scale = s.scale.data();
    a.panel_sums = s.panel_sums.data();
    return a;
  }
  a.block = weight_dtype == DType::kQ8_0 ? kQK : kQK_K;
  grow(s.scale, n_tokens * (cols / a.block) + 16);
  a.scale = s.scale.data();
  if (weight_dtype == DType::kQ8_0) {
    grow(s.q16, n_tokens * cols + 32);  // slack: kernels may load a whole vector at the end
    const Isa isa = active_isa();
    for (std::int64_t t = 0; t < n_tokens; ++t)
      quantize_int16_row(isa, x + t * cols, cols, s.q16.data() + t * cols,
                         s.scale.data() + t * (cols / a.block));
    a.q16 = s.q16.data();
    return a;
  }
  // 64 bytes of slack: kernels may load a whole vector at the last block.
  grow(s.q, n_tokens * cols + 64);
  grow(s.sums16, n_tokens * (cols / 16) + 16);
  const Isa isa = active_isa();
  for (std::int64_t t = 0; t < n_tokens; ++t)
    quantize_int8_row(isa, x + t * cols, cols, s.q.data() + t * cols,
                      s.scale.data() + t * (cols / a.block), s.sums16.data() + t * (cols / 16));
  if (weight_dtype == DType::kQ4_K) {
    for (std::int64_t i = 0; i < n_tokens * cols; i += 128)
      std::swap_ranges(s.q.data() + i + 32, s.q.data() + i + 64, s.q.data() + i + 64);
  }
  a.q = s.q.data();
  a.sums16 = s.sums16.data();
  return a;
}

void quantize_panel_token(Isa isa, const float* x, std::int64_t cols, std::int16_t* panel,
                          float* scales, float* sums, std::int64_t lane) {
  if (!isa_supported(isa)) isa = Isa::kScalar;
  switch (isa) {
    case Isa::kAvx512:
      return isa_avx512::quantize_panel_token(x, cols, panel, scales, sums, lane);
    case Isa::kAvx2:
      return isa_avx2::quantize_panel_token(x, cols, panel, scales, sums, lane);
    case Isa::kScalar:
      return quantize_panel_token_scalar(x, cols, panel, scales, sums, lane);
  }
}

void quantize_int16_row(Isa isa, const float* x, std::int64_t cols, std::int16_t* q,
                        float* scales) {
  if (!isa_supported(isa)) isa = Isa::kScalar;
  switch (isa) {
    case Isa::kAvx512:
      return isa_avx512::quantize_int16_row(x, cols, q, scales);
    case Isa::kAvx2:
      return isa_avx2::quantize_int16_row(x, cols, q, scales);
    case Isa::kScalar:
      return quantize_int16_blocks(x, cols, kQK, q, scales);
  }
}

void quantize_int8_row(Isa isa, const float* x, std::int64_t cols, std::int8_t* q, float* scales,
                       std::int16_t* sums16) {
  if (!isa_supported(isa)) isa = Isa::kScalar;
  switch (isa) {
    case Isa::kAvx512:
      return isa_avx512::quantize_int8_row(x, cols, q, scales, sums16);
    case Isa::kAvx2:
      return isa_avx2::quantize_int8_row(x, cols, q, scales, sums16);
    case Isa::kScalar:
      return quantize_int8_blocks(x, cols, kQK_K, q, scales, sums16);
  }
}

bool int8_kernel_supported(Int8Kernel kernel) {
  switch (kernel) {
    case Int8Kernel::kScalar:
      return true;
    case Int8Kernel::kAvx2:
      return cpu_features().avx2;
    case Int8Kernel::kAvx512:
      return cpu_features().avx512;
    case Int8Kernel::kAvx512Vnni:
      return cpu_features().avx512_vnni;
  }
  return false;
}

Int8Kernel int8_kernel_for(Isa isa) {
  if (!isa_supported(isa)) return Int8Kernel::kScalar;
  switch (isa) {
    case Isa::kScalar:
      return Int8Kernel::kScalar;
    case Isa::kAvx2:
      return Int8Kernel::kAvx2;
    case Isa::kAvx512:
      return cpu_features().avx512_vnni ? Int8Kernel::kAvx512Vnni : Int8Kernel::kAvx512;
  }
  return Int8Kernel::kScalar;
}

void int8_matmul_rows(Int8Kernel kernel, const WeightMatrix& w, std::int64_t row_begin,
                      std::int64_t row_end, const Int8Activations& a, float* y,
                      std::int64_t y_stride) {
  if (!int8_kernel_supported(kernel)) kernel = Int8Kernel::kScalar;
  if (a.q16_panels != nullptr) {  // the panel kernel, a tile of widened rows at a time
    const std::int64_t tile = panel_tile_rows(w.cols);
    for (std::int64_t r0 = row_begin; r0 < row_end; r0 += tile) {
      const WidenedRows rows = widen_rows(w, r0, std::min(row_end, r0 + tile));
      float* yr = y + (r0 - row_begin);
      switch (kernel) {
        case Int8Kernel::kScalar:
          panel_rows_scalar(rows, a, yr, y_stride);
          break;
        case Int8Kernel::kAvx2:
          isa_avx2::panel_rows(rows, a, yr, y_stride);
          break;
        case Int8Kernel::kAvx512:
        case Int8Kernel::kAvx512Vnni:
          isa_avx512::panel_rows(rows, a, yr, y_stride, kernel == Int8Kernel::kAvx512Vnni);
          break;
      }
    }
    return;
  }
  switch (kernel) {
    case Int8Kernel::kScalar:
      return int8_matmul_rows_scalar(w, row_begin, row_end, a, y, y_stride);
    case Int8Kernel::kAvx2:
      return isa_avx2::int8_matmul_rows(w, row_begin, row_end, a, y, y_stride);
    case Int8Kernel::kAvx512:
    case Int8Kernel::kAvx512Vnni:
      return isa_avx512::int8_matmul_rows(w, row_begin, row_end, a, y, y_stride,
                                          kernel == Int8Kernel::kAvx512Vnni);
  }
}

}  // namespace whale
