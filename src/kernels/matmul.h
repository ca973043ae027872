// y = x · Wᵀ for a weight W kept in its stored format ([rows, cols], PyTorch nn.Linear
// layout) and float32 activations x ([n_tokens, cols]) -> y ([n_tokens, rows]).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "formats/dtype.h"
#include "kernels/cpu_features.h"

namespace whale {

class ThreadPool;

// Products of at least kPanelMinTokens tokens on float32 (or dequantized) weights take the
// broadcast kernel, which reads the activations transposed into panels of kTokenPanel tokens:
// [panel][cols][kTokenPanel], zero beyond the last token.
constexpr std::int64_t kTokenPanel = 32;
constexpr std::int64_t kPanelMinTokens = 8;
inline std::int64_t panel_floats(std::int64_t n_tokens, std::int64_t cols) {
  return (n_tokens + kTokenPanel - 1) / kTokenPanel * kTokenPanel * cols;
}
void transpose_to_panels(const float* x, std::int64_t n_tokens, std::int64_t cols, float* out);

struct WeightMatrix {
  std::string name;  // the checkpoint tensor it views, for messages
  DType dtype = DType::kF32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  // rows * dtype_row_bytes(dtype, cols) bytes, row-major. For GGML block formats (Q8_0, Q4_K,
  // ...) a row is cols / block blocks, exactly as a GGUF tensor with ne0 = cols stores it;
  // cols must be a multiple of the block size.
  const std::uint8_t* data = nullptr;
  // F8_E4M3 only: float32 multipliers, [ceil(rows/block_rows), ceil(cols/block_cols)].
  const float* block_scales = nullptr;
  std::int64_t block_rows = 128;
  std::int64_t block_cols = 128;

  std::int64_t bytes() const;  // weight bytes read by one full product (data + scales)
};

// out[i] = the BF16 value in[i] as float32, on the widest ISA the CPU has (cache rows).
void bf16_to_f32_n(const std::uint16_t* in, float* out, std::int64_t n);

// out[(r - row_begin) * cols + c] = W[r, c] as float32, for r in [row_begin, row_end).
void dequantize_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                     float* out);

// y[t, r] = Σ_c x[t, c] · W[r, c]. Rows are split across the pool's threads; every output is
// computed by the same code whatever the thread count, so results are bit-identical.
// Q8_0, Q4_K and Q6_K weights take integer kernels (kernels/quant_matmul.h): x is quantized
// once per call, to int8 blocks for the k-quants (about 0.4% of a block's largest activation
// per value) and int16 blocks for Q8_0 (258 times finer); other block formats are dequantized
// a few rows at a time and multiplied in float32.
void matmul(const WeightMatrix& w, const float* x, std::int64_t n_tokens, float* y,
            ThreadPool& pool);

// One product of matmul_same_input: y ([n_tokens, w->rows]) = x · wᵀ.
struct MatmulProduct {
  const WeightMatrix* w;
  float* y;
};
// A range of rows of one of matmul_same_input's products (its reusable work list).
struct MatmulChunk {
  std::int32_t product;
  std::int64_t begin, end;
};
// y_i = x · W_iᵀ for several weights sharing the input x (q/k/v, gate/up, q_a/kv_a), in one
// parallel pass instead of one per product: a decode step wakes the pool fewer times. Each
// product's rows are chunked from its own row 0 in whole multiples of 16, as matmul chunks
// them, and each chunk goes through matmul_rows; the thread count changes nothing.
void matmul_same_input(std::initializer_list<MatmulProduct> products, const float* x,
                       std::int64_t n_tokens, ThreadPool& pool, std::vector<MatmulChunk>& chunks);

// Activations as integer blocks, structure of arrays (contiguous codes load as whole vectors).
struct Int8Activations {
  std::int64_t n_tokens = 0;
  std::int64_t cols = 0;
  std::int64_t block = 32;  // 32 (Q8_0 weights) or 256 (k-quants)
  // [n_tokens, cols]. For Q4_K weights, in each 128 values the second and third 32-value
  // quarters are swapped: a Q4_K byte group of 64 holds values [0,32) and [64,96) of a 128 in
  // its low nibbles, so those activations then load as one 64-byte vector.
  // Not set for Q8_0 weights, which take q16.
  const std::int8_t* q = nullptr;
  const std::int16_t* q16 = nullptr;  // [n_tokens, cols], Q8_0 weights only
  // More than kRowKernelTokens tokens, any format: int16 codes of 32-value blocks in token
  // panels instead, as value pairs, [n_tokens / kTokenPanel rounded up][cols / 2][kTokenPanel]
  // [2], with `scale` and panel_sums (each block's code sum) as [panel][cols / 32][kTokenPanel];
  // zero beyond the last token.
  const std::int16_t* q16_panels = nullptr;
  const float* panel_sums = nullptr;
  const float* scale = nullptr;          // [n_tokens, cols / block], or per panel as above
  const std::int16_t* sums16 = nullptr;  // [n_tokens, cols / 16], k-quants only, natural order
};

// Where quantized activations live; reused across calls, so decode allocates nothing.
struct ActivationStorage {
  std::vector<std::int8_t> q;
  std::vector<std::int16_t> q16;
  std::vector<float> scale;
  std::vector<std::int16_t> sums16;
  std::vector<float> panel_sums;
  std::vector<float> panels;  // float activations transposed (transpose_to_panels)
};

// The input of products with weights of one format, prepared once for many row ranges (the
// units of a parallel product): quantized when that format takes the integer kernel at this
// token count, else the float32 activations as given.
struct MatmulInput {
  DType weight_dtype = DType::kF32;
  const float* x = nullptr;  // [n_tokens, cols]
  std::int64_t n_tokens = 0;
  std::int64_t cols = 0;
  bool quantized = false;
  Int8Activations int8;           // when quantized
  const float* panels = nullptr;  // when not, for kPanelMinTokens tokens or more
};

// Prepares x for weights of `weight_dtype`, quantizing into `storage` where needed; valid until
// storage's next use (x must outlive it too).
MatmulInput prepare_matmul_input(DType weight_dtype, const float* x, std::int64_t n_tokens,
                                 std::int64_t cols, ActivationStorage& storage);

// matmul_rows on a prepared input; w must have the format the input was prepared for.
void matmul_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                 const MatmulInput& in, float* y, std::int64_t y_stride);

// The same product for a subset of rows [row_begin, row_end) on the calling thread only,
// writing y[t * y_stride + (r - row_begin)].
void matmul_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                 const float* x, std::int64_t n_tokens, float* y, std::int64_t y_stride);

// The same on a chosen ISA path (an unsupported one falls back to scalar): for tests that hold
// every SIMD path to its scalar twin.
void matmul_rows_isa(Isa isa, const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                     const float* x, std::int64_t n_tokens, float* y, std::int64_t y_stride);

}  // namespace whale
