#include "formats/dtype.h"

#include <array>
#include <utility>

namespace whale {
namespace {

constexpr std::uint32_t kNoGgml = 0xFFFFFFFFu;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t block_bytes;
  std::int64_t block_elements;
  std::uint32_t ggml_type;   // kNoGgml where GGUF has no such tensor type
  bool safetensors;          // a safetensors dtype string
};

constexpr std::array kDTypes = {
    DTypeInfo{DType::kF32, "F32", 4, 1, 0, true},
    DTypeInfo{DType::kF16, "F16", 2, 1, 1, true},
    DTypeInfo{DType::kBF16, "BF16", 2, 1, 30, true},
    DTypeInfo{DType::kF8E4M3, "F8_E4M3", 1, 1, kNoGgml, true},
    DTypeInfo{DType::kI64, "I64", 8, 1, 27, true},
    DTypeInfo{DType::kI32, "I32", 4, 1, 26, true},
    DTypeInfo{DType::kI16, "I16", 2, 1, 25, true},
    DTypeInfo{DType::kI8, "I8", 1, 1, 24, true},
    DTypeInfo{DType::kU8, "U8", 1, 1, kNoGgml, true},
    DTypeInfo{DType::kBool, "BOOL", 1, 1, kNoGgml, true},
    DTypeInfo{DType::kF64, "F64", 8, 1, 28, true},
    DTypeInfo{DType::kQ4_0, "Q4_0", 18, 32, 2, false},
    DTypeInfo{DType::kQ4_1, "Q4_1", 20, 32, 3, false},
    DTypeInfo{DType::kQ5_0, "Q5_0", 22, 32, 6, false},
    DTypeInfo{DType::kQ5_1, "Q5_1", 24, 32, 7, false},
    DTypeInfo{DType::kQ8_0, "Q8_0", 34, 32, 8, false},
    DTypeInfo{DType::kQ8_1, "Q8_1", 36, 32, 9, false},
    DTypeInfo{DType::kQ2_K, "Q2_K", 84, 256, 10, false},
    DTypeInfo{DType::kQ3_K, "Q3_K", 110, 256, 11, false},
    DTypeInfo{DType::kQ4_K, "Q4_K", 144, 256, 12, false},
    DTypeInfo{DType::kQ5_K, "Q5_K", 176, 256, 13, false},
    DTypeInfo{DType::kQ6_K, "Q6_K", 210, 256, 14, false},
    DTypeInfo{DType::kQ8_K, "Q8_K", 292, 256, 15, false},
    DTypeInfo{DType::kIQ4_NL, "IQ4_NL", 18, 32, 20, false},
    DTypeInfo{DType::kIQ4_XS, "IQ4_XS", 136, 256, 23, false},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes)
    if (i.dtype == dtype) return i;
  return kDTypes[0];  // every enumerator is listed above
}

// Every type id GGML has defined, for messages about the ones whale does not compute with.
constexpr std::array<std::string_view, 40> kGgmlNames = {
    "F32",     "F16",    "Q4_0",    "Q4_1",   "Q4_2 (removed)", "Q4_3 (removed)", "Q5_0",
    "Q5_1",    "Q8_0",   "Q8_1",    "Q2_K",   "Q3_K",    "Q4_K",   "Q5_K",   "Q6_K",
    "Q8_K",    "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",  "IQ4_NL", "IQ3_S",  "IQ2_S",
    "IQ4_XS",  "I8",     "I16",     "I32",    "I64",     "F64",    "IQ1_M",  "BF16",
    "Q4_0_4_4 (removed)", "Q4_0_4_8 (removed)", "Q4_0_8_8 (removed)", "TQ1_0", "TQ2_0",
    "IQ4_NL_4_4 (removed)", "IQ4_NL_4_8 (removed)", "IQ4_NL_8_8 (removed)", "MXFP4"};

}  // namespace

std::size_t dtype_size(DType dtype) { return info(dtype).block_bytes; }
std::size_t dtype_block_bytes(DType dtype) { return info(dtype).block_bytes; }
std::int64_t dtype_block_elements(DType dtype) { return info(dtype).block_elements; }
bool dtype_is_block_format(DType dtype) { return info(dtype).block_elements > 1; }

std::int64_t dtype_row_bytes(DType dtype, std::int64_t elements) {
  const DTypeInfo& i = info(dtype);
  const std::int64_t blocks = (elements + i.block_elements - 1) / i.block_elements;
  return blocks * static_cast<std::int64_t>(i.block_bytes);
}

std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> parse_safetensors_dtype(std::string_view name) {
  for (const auto& i : kDTypes)
    if (i.safetensors && i.name == name) return i.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_ggml_type(std::uint32_t type) {
  for (const auto& i : kDTypes)
    if (i.ggml_type == type) return i.dtype;
  return std::nullopt;
}

std::optional<std::uint32_t> ggml_type_of(DType dtype) {
  const DTypeInfo& i = info(dtype);
  if (i.ggml_type == kNoGgml) return std::nullopt;
  return i.ggml_type;
}

std::string_view ggml_type_name(std::uint32_t type) {
  return type < kGgmlNames.size() ? kGgmlNames[type] : std::string_view();
}

}  // namespace whale
