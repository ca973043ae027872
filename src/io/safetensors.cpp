#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/error.h"
#include "util/json_file.h"

namespace whale {

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

// Largest header accepted (the Rust reference allows 100 MB).
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint64_t json_offset(const nlohmann::json& v, const std::string& file,
                          const std::string& name) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
    fail("{}: tensor '{}': data_offsets must be two non-negative integers, got {}", file, name,
         v.dump());
  return v.get<std::uint64_t>();
}

}  // namespace

SafetensorsHeader parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& file) {
  if (bytes.size() < 8)
    fail("{}: truncated safetensors file: {} bytes, expected at least an 8-byte header length",
         file, bytes.size());
  const std::uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxHeaderBytes)
    fail("{}: safetensors header length {} exceeds the {}-byte limit", file, header_len,
         kMaxHeaderBytes);
  if (header_len > bytes.size() - 8)
    fail("{}: safetensors header length {} runs past the end of the file ({} bytes)", file,
         header_len, bytes.size());
  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  const nlohmann::json header = parse_json(header_text, file + " (safetensors header)");
  if (!header.is_object())
    fail("{}: safetensors header must be a JSON object, got {}", file, json_type_name(header));

  const std::span<const std::uint8_t> data = bytes.subspan(8 + header_len);
  SafetensorsHeader result;
  struct Range {
    std::uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        fail("{}: __metadata__ must be an object of strings, got {}", file, json_type_name(entry));
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          fail("{}: __metadata__ field '{}' must be a string, got {}", file, k, json_type_name(v));
        result.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object())
      fail("{}: tensor '{}': expected an object with dtype, shape and data_offsets, got {}", file,
           name, json_type_name(entry));
    TensorInfo info;
    info.name = name;
    info.file = file;

    const auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end() || !dtype_it->is_string())
      fail("{}: tensor '{}': missing string field 'dtype'", file, name);
    const auto dtype = parse_safetensors_dtype(dtype_it->get<std::string>());
    if (!dtype)
      fail("{}: tensor '{}': unsupported dtype '{}' (expected one of F32, F16, BF16, F8_E4M3, "
           "F64, I64, I32, I16, I8, U8, BOOL)",
           file, name, dtype_it->get<std::string>());
    info.dtype = *dtype;

    const auto shape_it = entry.find("shape");
    if (shape_it == entry.end() || !shape_it->is_array())
      fail("{}: tensor '{}': missing array field 'shape'", file, name);
    std::uint64_t numel = 1;
    for (const auto& d : *shape_it) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
        fail("{}: tensor '{}': shape must hold non-negative integers, got {}", file, name,
             shape_it->dump());
      const auto dim = d.get<std::uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / 16 / dim)
        fail("{}: tensor '{}': shape {} is too large", file, name, shape_it->dump());
      numel *= dim;
      info.shape.push_back(static_cast<std::int64_t>(dim));
    }

    const auto off_it = entry.find("data_offsets");
    if (off_it == entry.end() || !off_it->is_array() || off_it->size() != 2)
      fail("{}: tensor '{}': missing field 'data_offsets' [begin, end]", file, name);
    const std::uint64_t begin = json_offset((*off_it)[0], file, name);
    const std::uint64_t end = json_offset((*off_it)[1], file, name);
    if (end < begin)
      fail("{}: tensor '{}': data_offsets [{}, {}] end before begin", file, name, begin, end);
    if (end > data.size())
      fail("{}: tensor '{}': data_offsets [{}, {}] run past the data area ({} bytes; file "
           "truncated?)",
           file, name, begin, end, data.size());
    const std::uint64_t expected = numel * dtype_size(info.dtype);
    if (end - begin != expected)
      fail("{}: tensor '{}': {} bytes at data_offsets [{}, {}], but {} {} needs {} bytes", file,
           name, end - begin, begin, end, dtype_name(info.dtype), info.shape_string(), expected);
    info.data = data.subspan(begin, end - begin);
    auto [it, inserted] = result.tensors.emplace(name, std::move(info));
    ranges.push_back({begin, end, &it->first});
  }

  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  const Range* furthest = nullptr;  // the non-empty range reaching furthest so far
  for (const Range& r : ranges) {
    if (r.begin == r.end) continue;
    if (furthest != nullptr && r.begin < furthest->end)
      fail("{}: tensors '{}' and '{}' overlap (data_offsets [{}, {}] and [{}, {}])", file,
           *furthest->name, *r.name, furthest->begin, furthest->end, r.begin, r.end);
    if (furthest == nullptr || r.end > furthest->end) furthest = &r;
  }
  return result;
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : map_(path), header_(parse_safetensors(map_.bytes(), path)) {}

}  // namespace whale
