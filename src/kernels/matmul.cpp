#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "formats/ggml_quants.h"
#include "formats/scalar_formats.h"
#include "kernels/dot.h"
#include "kernels/matmul_isa.h"
#include "kernels/quant_matmul.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale {

std::int64_t WeightMatrix::bytes() const {
  std::int64_t b = rows * dtype_row_bytes(dtype, cols);
  if (block_scales != nullptr)
    b += ((rows + block_rows - 1) / block_rows) * ((cols + block_cols - 1) / block_cols) * 4;
  return b;
}

void dequantize_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                     float* out) {
  const std::int64_t cols = w.cols;
  if (dtype_is_block_format(w.dtype)) {
    const std::int64_t row_bytes = dtype_row_bytes(w.dtype, cols);
    for (std::int64_t r = row_begin; r < row_end; ++r)
      dequantize_row(w.dtype, w.data + r * row_bytes, out + (r - row_begin) * cols, cols);
    return;
  }
  for (std::int64_t r = row_begin; r < row_end; ++r) {
    float* o = out + (r - row_begin) * cols;
    switch (w.dtype) {
      case DType::kF32:
        std::memcpy(o, w.data + r * cols * 4, static_cast<std::size_t>(cols) * 4);
        break;
      case DType::kBF16: {
        const auto* src = reinterpret_cast<const std::uint16_t*>(w.data) + r * cols;
        for (std::int64_t c = 0; c < cols; ++c) o[c] = bf16_to_f32(src[c]);
        break;
      }
      case DType::kF16: {
        const auto* src = reinterpret_cast<const std::uint16_t*>(w.data) + r * cols;
        for (std::int64_t c = 0; c < cols; ++c) o[c] = f16_to_f32(src[c]);
        break;
      }
      case DType::kF8E4M3: {
        const auto& lut = fp8_e4m3_table();
        const std::uint8_t* src = w.data + r * cols;
        const std::int64_t scale_cols = (cols + w.block_cols - 1) / w.block_cols;
        const float* scales = w.block_scales + (r / w.block_rows) * scale_cols;
        for (std::int64_t c0 = 0; c0 < cols; c0 += w.block_cols) {
          const float s = scales[c0 / w.block_cols];
          const std::int64_t c1 = std::min(cols, c0 + w.block_cols);
          for (std::int64_t c = c0; c < c1; ++c) o[c] = lut[src[c]] * s;
        }
        break;
      }
      default:
        fail("{}: dtype {} is not a weight format whale computes with", w.name,
             dtype_name(w.dtype));
    }
  }
}

namespace {

// Rows dequantized together: the tile is reused across all tokens before moving on. The
// broadcast kernel takes row groups of 12 (AVX-512) or 6 (AVX2), so its tiles are larger.
constexpr std::int64_t kRowTile = 8;
std::int64_t panel_tile_rows(std::int64_t cols) {
  return cols > 4096 ? 12 : 48;
}

// Rows per chunk of a product split over the pool: whole multiples of 16 rows (SIMD row groups
// and FP8 block rows stay together), about eight chunks per thread so that uneven progress
// balances out, and in decode at most about kDecodeChunkBytes of weights: the threads end
// together within a short chunk (v3-bench's Q8_0 head would otherwise come in 13.7 MB
// chunks, the last of which one thread waits out alone).
constexpr std::int64_t kDecodeChunkBytes = 256 << 10;
std::int64_t chunk_rows(std::int64_t rows, std::int64_t row_bytes, std::int64_t n_tokens,
                        int threads) {
  std::int64_t grain = rows / (threads * 8);
  if (n_tokens <= kRowKernelTokens)
    grain = std::min(grain, kDecodeChunkBytes / std::max<std::int64_t>(1, row_bytes));
  return std::max<std::int64_t>(16, grain / 16 * 16);
}

thread_local std::vector<float> tile_scratch;
thread_local std::vector<float> c_scratch;      // the broadcast kernel's C buffer
thread_local std::vector<float> panel_scratch;  // x transposed, for unprepared products
thread_local ActivationStorage matmul_storage;  // matmul's own prepared inputs
// matmul_same_input's decode inputs, one per product (a later product of an earlier one's
// format shares that one's).
thread_local std::vector<ActivationStorage> same_input_storage;
thread_local std::vector<MatmulInput> same_input_prepared;

float* c_buffer() {
  if (c_scratch.size() < static_cast<std::size_t>(64 * kTokenPanel))
    c_scratch.resize(static_cast<std::size_t>(64 * kTokenPanel));
  return c_scratch.data();
}

}  // namespace

namespace {

void check_computable(const WeightMatrix& w) {
  switch (w.dtype) {
    case DType::kF32:
    case DType::kBF16:
    case DType::kF16:
      return;
    case DType::kF8E4M3:
      if (w.block_scales == nullptr || w.block_rows < 1 || w.block_cols < 1)
        fail("{}: F8_E4M3 weight without block scales", w.name);
      return;
    default:
      if (dtype_is_block_format(w.dtype)) {
        if (w.cols % dtype_block_elements(w.dtype) != 0)
          fail("{}: {} columns are not whole {} blocks of {}", w.name, w.cols, dtype_name(w.dtype),
               dtype_block_elements(w.dtype));
        return;
      }
      fail("{}: dtype {} is not a weight format whale computes with", w.name, dtype_name(w.dtype));
  }
}

// Block formats without an int8 kernel: rows dequantized into this thread's tile, then the
// float32 tile product of the chosen ISA.
void matmul_rows_dequantized(Isa isa, const WeightMatrix& w, std::int64_t row_begin,
                             std::int64_t row_end, const float* x, const float* panels,
                             std::int64_t n_tokens, float* y, std::int64_t y_stride) {
  const std::int64_t cols = w.cols;
  const std::int64_t step = panels != nullptr ? panel_tile_rows(cols) : kRowTile;
  auto& tile = tile_scratch;
  if (static_cast<std::int64_t>(tile.size()) < step * cols)
    tile.resize(static_cast<std::size_t>(step * cols));
  float* c = c_buffer();
  for (std::int64_t r0 = row_begin; r0 < row_end; r0 += step) {
    const std::int64_t r1 = std::min(row_end, r0 + step);
    dequantize_rows(w, r0, r1, tile.data());
    float* yr = y + (r0 - row_begin);
    if (isa == Isa::kAvx512)
      isa_avx512::matmul_tile_f32(tile.data(), r1 - r0, cols, x, panels, n_tokens, yr, y_stride, c);
    else
      isa_avx2::matmul_tile_f32(tile.data(), r1 - r0, cols, x, panels, n_tokens, yr, y_stride, c);
  }
}

// The scalar twin: dequantize a few rows, then plain dot products.
void matmul_rows_scalar(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                        const float* x, std::int64_t n_tokens, float* y, std::int64_t y_stride) {
  const std::int64_t cols = w.cols;
  auto& tile = tile_scratch;
  if (static_cast<std::int64_t>(tile.size()) < kRowTile * cols)
    tile.resize(static_cast<std::size_t>(kRowTile * cols));
  for (std::int64_t r0 = row_begin; r0 < row_end; r0 += kRowTile) {
    const std::int64_t r1 = std::min(row_end, r0 + kRowTile);
    dequantize_rows(w, r0, r1, tile.data());
    for (std::int64_t t = 0; t < n_tokens; ++t)
      for (std::int64_t r = r0; r < r1; ++r)
        y[t * y_stride + (r - row_begin)] =
            dot_f32_isa(Isa::kScalar, tile.data() + (r - r0) * cols, x + t * cols, cols);
  }
}

// The float path (no integer kernel), `panels` given or made here when the broadcast kernel
// applies.
void matmul_rows_float(Isa isa, const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                       const float* x, const float* panels, std::int64_t n_tokens, float* y,
                       std::int64_t y_stride) {
  if (isa == Isa::kScalar || !isa_supported(isa)) {
    matmul_rows_scalar(w, row_begin, row_end, x, n_tokens, y, y_stride);
    return;
  }
  if (n_tokens < kPanelMinTokens) {
    panels = nullptr;
  } else if (panels == nullptr) {
    auto& p = panel_scratch;
    if (static_cast<std::int64_t>(p.size()) < panel_floats(n_tokens, w.cols))
      p.resize(static_cast<std::size_t>(panel_floats(n_tokens, w.cols)));
    transpose_to_panels(x, n_tokens, w.cols, p.data());
    panels = p.data();
  }
  if (dtype_is_block_format(w.dtype)) {
    matmul_rows_dequantized(isa, w, row_begin, row_end, x, panels, n_tokens, y, y_stride);
    return;
  }
  auto& tile = tile_scratch;
  if (static_cast<std::int64_t>(tile.size()) < 64 * w.cols)
    tile.resize(static_cast<std::size_t>(64 * w.cols));
  float* c = c_buffer();
  if (isa == Isa::kAvx512)
    isa_avx512::matmul_rows(w, row_begin, row_end, x, panels, n_tokens, y, y_stride, tile.data(),
                            c);
  else
    isa_avx2::matmul_rows(w, row_begin, row_end, x, panels, n_tokens, y, y_stride, tile.data(), c);
}

}  // namespace

void transpose_to_panels(const float* x, std::int64_t n_tokens, std::int64_t cols, float* out) {
  for (std::int64_t t0 = 0; t0 < n_tokens; t0 += kTokenPanel) {
    float* panel = out + t0 * cols;  // panel t0 / kTokenPanel: cols * kTokenPanel floats
    const std::int64_t nt = std::min(kTokenPanel, n_tokens - t0);
    if (nt < kTokenPanel) std::fill(panel, panel + cols * kTokenPanel, 0.0f);
    // Eight tokens at a time: eight reads streaming along their rows, writes within a line.
    for (std::int64_t i0 = 0; i0 < nt; i0 += 8) {
      const std::int64_t ni = std::min<std::int64_t>(8, nt - i0);
      for (std::int64_t k = 0; k < cols; ++k)
        for (std::int64_t i = 0; i < ni; ++i)
          panel[k * kTokenPanel + i0 + i] = x[(t0 + i0 + i) * cols + k];
    }
  }
}

void matmul_rows_isa(Isa isa, const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                     const float* x, std::int64_t n_tokens, float* y, std::int64_t y_stride) {
  check_computable(w);
  if (has_int8_kernel(w.dtype)) {
    const Int8Activations a = quantize_activations(w.dtype, x, n_tokens, w.cols);
    int8_matmul_rows(int8_kernel_for(isa), w, row_begin, row_end, a, y, y_stride);
    return;
  }
  matmul_rows_float(isa, w, row_begin, row_end, x, nullptr, n_tokens, y, y_stride);
}

void bf16_to_f32_n(const std::uint16_t* in, float* out, std::int64_t n) {
  switch (active_isa()) {
    case Isa::kAvx512:
      return isa_avx512::bf16_to_f32(in, out, n);
    case Isa::kAvx2:
      return isa_avx2::bf16_to_f32(in, out, n);
    case Isa::kScalar:
      for (std::int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(in[i]);
      return;
  }
}

void matmul_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                 const float* x, std::int64_t n_tokens, float* y, std::int64_t y_stride) {
  matmul_rows_isa(active_isa(), w, row_begin, row_end, x, n_tokens, y, y_stride);
}

MatmulInput prepare_matmul_input(DType weight_dtype, const float* x, std::int64_t n_tokens,
                                 std::int64_t cols, ActivationStorage& storage) {
  MatmulInput in;
  in.weight_dtype = weight_dtype;
  in.x = x;
  in.n_tokens = n_tokens;
  in.cols = cols;
  in.quantized = has_int8_kernel(weight_dtype);
  if (in.quantized) {
    in.int8 = quantize_activations(weight_dtype, x, n_tokens, cols, storage);
  } else if (n_tokens >= kPanelMinTokens && active_isa() != Isa::kScalar) {
    if (static_cast<std::int64_t>(storage.panels.size()) < panel_floats(n_tokens, cols))
      storage.panels.resize(static_cast<std::size_t>(panel_floats(n_tokens, cols)));
    transpose_to_panels(x, n_tokens, cols, storage.panels.data());
    in.panels = storage.panels.data();
  }
  return in;
}

void matmul_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                 const MatmulInput& in, float* y, std::int64_t y_stride) {
  if (in.quantized && in.weight_dtype == w.dtype && in.cols == w.cols) {
    check_computable(w);
    int8_matmul_rows(int8_kernel_for(active_isa()), w, row_begin, row_end, in.int8, y, y_stride);
    return;
  }
  if (w.cols != in.cols)
    fail("{}: {} columns, but the input has {} values per token", w.name, w.cols, in.cols);
  check_computable(w);
  if (has_int8_kernel(w.dtype)) {  // prepared for another format
    matmul_rows(w, row_begin, row_end, in.x, in.n_tokens, y, y_stride);
    return;
  }
  matmul_rows_float(active_isa(), w, row_begin, row_end, in.x, in.panels, in.n_tokens, y, y_stride);
}

namespace {

// A product over all rows on a prepared input (activations quantized or transposed once, for
// every thread), in chunks of chunk_rows.
void matmul_prepared(const WeightMatrix& w, const MatmulInput& in, float* y, ThreadPool& pool) {
  const std::int64_t grain =
      chunk_rows(w.rows, w.bytes() / std::max<std::int64_t>(1, w.rows), in.n_tokens, pool.size());
  pool.parallel_for(w.rows, grain, [&](std::int64_t begin, std::int64_t end, int) {
    matmul_rows(w, begin, end, in, y + begin, w.rows);
  });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, std::int64_t n_tokens, float* y,
            ThreadPool& pool) {
  check_computable(w);
  // Small products run on the calling thread: waking workers would cost more than the work.
  if (w.rows * w.cols * n_tokens < (1 << 16)) {
    matmul_rows(w, 0, w.rows, x, n_tokens, y, w.rows);
    return;
  }
  matmul_prepared(w, prepare_matmul_input(w.dtype, x, n_tokens, w.cols, matmul_storage), y, pool);
}

void matmul_same_input(std::initializer_list<MatmulProduct> products, const float* x,
                       std::int64_t n_tokens, ThreadPool& pool, std::vector<MatmulChunk>& chunks) {
  std::int64_t total_rows = 0, work = 0;
  for (const MatmulProduct& p : products) {
    total_rows += p.w->rows;
    work += p.w->rows * p.w->cols * n_tokens;
  }
  if (work < (1 << 16)) {  // small: the calling thread, as matmul does
    for (const MatmulProduct& p : products)
      matmul_rows(*p.w, 0, p.w->rows, x, n_tokens, p.y, p.w->rows);
    return;
  }
  if (n_tokens > 16) {  // prefill: one product after another, the input prepared once for all
    MatmulInput in;     // (again only for a product wanting another quantization)
    bool prepared = false;
    for (const MatmulProduct& p : products) {
      check_computable(*p.w);
      const bool int8 = has_int8_kernel(p.w->dtype);
      if (!prepared || int8 != in.quantized || (int8 && p.w->dtype != in.weight_dtype)) {
        in = prepare_matmul_input(p.w->dtype, x, n_tokens, p.w->cols, matmul_storage);
        prepared = true;
      }
      matmul_prepared(*p.w, in, p.y, pool);
    }
    return;
  }
  // Decode: each weight format's input prepared once (not once per chunk), then one pass.
  const std::size_t n_products = products.size();
  if (same_input_storage.size() < n_products) same_input_storage.resize(n_products);
  if (same_input_prepared.size() < n_products) same_input_prepared.resize(n_products);
  std::size_t index_of_input = 0;
  for (const MatmulProduct& p : products) {
    check_computable(*p.w);
    MatmulInput& in = same_input_prepared[index_of_input];
    const MatmulProduct* earlier = products.begin();
    for (; earlier != &p; ++earlier)
      if (earlier->w->dtype == p.w->dtype && earlier->w->cols == p.w->cols) break;
    in = earlier != &p ? same_input_prepared[static_cast<std::size_t>(earlier - products.begin())]
                       : prepare_matmul_input(p.w->dtype, x, n_tokens, p.w->cols,
                                              same_input_storage[index_of_input]);
    ++index_of_input;
  }
  std::int64_t total_bytes = 0;
  for (const MatmulProduct& p : products) total_bytes += p.w->bytes();
  const std::int64_t grain = chunk_rows(
      total_rows, total_bytes / std::max<std::int64_t>(1, total_rows), n_tokens, pool.size());
  chunks.clear();
  std::int32_t index = 0;
  for (const MatmulProduct& p : products) {
    for (std::int64_t r = 0; r < p.w->rows; r += grain)
      chunks.push_back({index, r, std::min(r + grain, p.w->rows)});
    ++index;
  }
  const MatmulProduct* list = products.begin();
  const MatmulInput* prepared = same_input_prepared.data();  // this thread's: workers read it
  pool.parallel_for(
      static_cast<std::int64_t>(chunks.size()), 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t c = begin; c < end; ++c) {
          const MatmulChunk& k = chunks[static_cast<std::size_t>(c)];
          const MatmulProduct& p = list[k.product];
          matmul_rows(*p.w, k.begin, k.end, prepared[k.product], p.y + k.begin, p.w->rows);
        }
      });
}

}  // namespace whale
