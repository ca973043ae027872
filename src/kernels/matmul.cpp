#include "kernels/matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "formats/scalar_formats.h"
#include "kernels/dot.h"
#include "util/thread_pool.h"
#include "util/error.h"

namespace whale {

std::int64_t WeightMatrix::bytes() const {
  std::int64_t b = rows * cols * static_cast<std::int64_t>(dtype_size(dtype));
  if (block_scales != nullptr)
    b += ((rows + block_rows - 1) / block_rows) * ((cols + block_cols - 1) / block_cols) * 4;
  return b;
}

void dequantize_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                     float* out) {
  const std::int64_t cols = w.cols;
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

// Rows dequantized together: the tile is reused across all tokens before moving on.
constexpr std::int64_t kRowTile = 8;

thread_local std::vector<float> tile_scratch;

}  // namespace

void matmul_rows(const WeightMatrix& w, std::int64_t row_begin, std::int64_t row_end,
                 const float* x, std::int64_t n_tokens, float* y, std::int64_t y_stride) {
  const std::int64_t cols = w.cols;
  if (w.dtype == DType::kF32) {
    const float* base = reinterpret_cast<const float*>(w.data);
    for (std::int64_t r = row_begin; r < row_end; ++r)
      for (std::int64_t t = 0; t < n_tokens; ++t)
        y[t * y_stride + (r - row_begin)] = dot_f32(base + r * cols, x + t * cols, cols);
    return;
  }
  auto& tile = tile_scratch;
  if (static_cast<std::int64_t>(tile.size()) < kRowTile * cols)
    tile.resize(static_cast<std::size_t>(kRowTile * cols));
  for (std::int64_t r0 = row_begin; r0 < row_end; r0 += kRowTile) {
    const std::int64_t r1 = std::min(row_end, r0 + kRowTile);
    dequantize_rows(w, r0, r1, tile.data());
    for (std::int64_t t = 0; t < n_tokens; ++t)
      for (std::int64_t r = r0; r < r1; ++r)
        y[t * y_stride + (r - row_begin)] = dot_f32(tile.data() + (r - r0) * cols, x + t * cols, cols);
  }
}

void matmul(const WeightMatrix& w, const float* x, std::int64_t n_tokens, float* y,
            ThreadPool& pool) {
  // Chunks of whole row tiles keep FP8 block rows and cache lines together.
  const std::int64_t grain = std::max<std::int64_t>(kRowTile, (w.rows / (pool.size() * 8)) / kRowTile * kRowTile);
  pool.parallel_for(w.rows, grain, [&](std::int64_t begin, std::int64_t end, int) {
    matmul_rows(w, begin, end, x, n_tokens, y + begin, w.rows);
  });
}

}  // namespace whale
