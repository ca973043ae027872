// Stored number formats whale knows, their sizes and names as files spell them.
//
// Two kinds: element formats (F32, BF16, F8_E4M3, ...), one value per dtype_size() bytes, and
// block formats (GGML's quantized types: Q8_0, Q4_K, ...), where a block of
// dtype_block_elements() values is stored in dtype_block_bytes() bytes with its own scales.
// For element formats a "block" is one element, so dtype_row_bytes() serves both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace whale {

enum class DType : std::uint8_t {
  kF32,
  kF16,
  kBF16,
  kF8E4M3,  // float8_e4m3fn, the V3/R1 release format (128x128 block scales beside it)
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool,
  kF64,
  // GGML block formats, bit layouts exactly as in GGUF files.
  kQ4_0,   // 32 values: f16 scale, 16 bytes of 4-bit codes
  kQ4_1,   // 32 values: f16 scale and min, 4-bit codes
  kQ5_0,   // 32 values: f16 scale, 4 bytes of high bits, 4-bit low codes
  kQ5_1,   // 32 values: f16 scale and min, high bits, low codes
  kQ8_0,   // 32 values: f16 scale, 32 int8 codes
  kQ8_1,   // 32 values: f16 scale and f16 scale*sum, 32 int8 codes (activations)
  kQ2_K,   // 256-value super-blocks ("k-quants")
  kQ3_K,
  kQ4_K,
  kQ5_K,
  kQ6_K,
  kQ8_K,   // 256 values: f32 scale, int8 codes, 16 int16 partial sums (activations)
  kIQ4_NL, // 32 values: f16 scale, 4-bit indices into a fixed non-linear table
  kIQ4_XS, // 256 values: IQ4_NL codes with 6-bit sub-block scales
};

// Bytes per element of an element format; for a block format, bytes per block (use
// dtype_row_bytes for sizes).
std::size_t dtype_size(DType dtype);

// Values per block: 1 for element formats, 32 or 256 for block formats.
std::int64_t dtype_block_elements(DType dtype);
// Bytes per block (= dtype_size).
std::size_t dtype_block_bytes(DType dtype);
bool dtype_is_block_format(DType dtype);

// Bytes of `elements` values; `elements` must be a multiple of the block size (callers validate
// shapes first; a partial block is rounded up here).
std::int64_t dtype_row_bytes(DType dtype, std::int64_t elements);

// The safetensors spelling ("F32", "BF16", "F8_E4M3", ...) or GGML's ("Q8_0", "Q4_K", ...).
std::string_view dtype_name(DType dtype);

// Parses a safetensors dtype string; nullopt for a name whale does not know (block formats are
// not safetensors dtypes).
std::optional<DType> parse_safetensors_dtype(std::string_view name);

// GGUF tensor type ids (enum ggml_type). dtype_from_ggml_type gives nullopt for an id whale
// cannot compute with; ggml_type_name names every id GGML has defined (for that error), or
// returns an empty view for ids it never defined.
std::optional<DType> dtype_from_ggml_type(std::uint32_t type);
std::optional<std::uint32_t> ggml_type_of(DType dtype);
std::string_view ggml_type_name(std::uint32_t type);

}  // namespace whale
