#include "formats/dtype.h"

#include <array>
#include <utility>

namespace whale {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array kDTypes = {
    DTypeInfo{DType::kF32, "F32", 4},   DTypeInfo{DType::kF16, "F16", 2},
    DTypeInfo{DType::kBF16, "BF16", 2}, DTypeInfo{DType::kF8E4M3, "F8_E4M3", 1},
    DTypeInfo{DType::kI64, "I64", 8},   DTypeInfo{DType::kI32, "I32", 4},
    DTypeInfo{DType::kI16, "I16", 2},   DTypeInfo{DType::kI8, "I8", 1},
    DTypeInfo{DType::kU8, "U8", 1},     DTypeInfo{DType::kBool, "BOOL", 1},
    DTypeInfo{DType::kF64, "F64", 8},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes)
    if (i.dtype == dtype) return i;
  return kDTypes[0];  // every enumerator is listed above
}

}  // namespace

std::size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> parse_safetensors_dtype(std::string_view name) {
  for (const auto& i : kDTypes)
    if (i.name == name) return i.dtype;
  return std::nullopt;
}

}  // namespace whale
