// Stored number formats whale knows, their sizes and names as files spell them.
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
};

// Bytes per element.
std::size_t dtype_size(DType dtype);

// The safetensors spelling ("F32", "BF16", "F8_E4M3", ...).
std::string_view dtype_name(DType dtype);

// Parses a safetensors dtype string; nullopt for a name whale does not know.
std::optional<DType> parse_safetensors_dtype(std::string_view name);

}  // namespace whale
