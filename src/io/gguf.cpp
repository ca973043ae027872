#include "io/gguf.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <utility>

#include "util/error.h"

namespace whale {

static_assert(std::endian::native == std::endian::little,
              "GGUF values are read in place as little-endian");

namespace {

// By GGUF type id.
constexpr std::array<std::string_view, 13> kTypeNames = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
constexpr std::array<std::size_t, 13> kTypeSizes = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  const auto id = static_cast<std::uint32_t>(type);
  return id < kTypeNames.size() ? kTypeNames[id] : std::string_view("unknown");
}

std::size_t gguf_type_size(GgufType type) {
  const auto id = static_cast<std::uint32_t>(type);
  return id < kTypeSizes.size() ? kTypeSizes[id] : 0;
}

namespace {

constexpr std::uint32_t kMaxArrayDepth = 8;
constexpr std::uint32_t kMaxGgufType = 12;

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A scalar read from packed little-endian bytes.
GgufValue scalar_at(GgufType type, const std::uint8_t* p) {
  switch (type) {
    case GgufType::kU8:
      return load<std::uint8_t>(p);
    case GgufType::kI8:
      return load<std::int8_t>(p);
    case GgufType::kU16:
      return load<std::uint16_t>(p);
    case GgufType::kI16:
      return load<std::int16_t>(p);
    case GgufType::kU32:
      return load<std::uint32_t>(p);
    case GgufType::kI32:
      return load<std::int32_t>(p);
    case GgufType::kF32:
      return load<float>(p);
    case GgufType::kBool:
      return *p != 0;
    case GgufType::kU64:
      return load<std::uint64_t>(p);
    case GgufType::kI64:
      return load<std::int64_t>(p);
    case GgufType::kF64:
      return load<double>(p);
    case GgufType::kString:
    case GgufType::kArray:
      break;
  }
  return GgufValue();
}

}  // namespace

GgufValue GgufArray::element(std::uint64_t i) const {
  if (element_type == GgufType::kString) return strings[i];
  if (element_type == GgufType::kArray) return arrays[i];
  return scalar_at(element_type, raw.data() + i * gguf_type_size(element_type));
}

GgufValue GgufValue::string_array(std::span<const std::string_view> values) {
  GgufArray a;
  a.element_type = GgufType::kString;
  a.length = values.size();
  a.strings.assign(values.begin(), values.end());
  return GgufValue(std::move(a));
}

GgufValue GgufValue::string_array(std::span<const std::string> values) {
  GgufArray a;
  a.element_type = GgufType::kString;
  a.length = values.size();
  a.strings.reserve(values.size());
  for (const auto& s : values) a.strings.emplace_back(s);
  return GgufValue(std::move(a));
}

GgufValue GgufValue::array_of_arrays(std::vector<GgufValue> arrays) {
  GgufArray a;
  a.element_type = GgufType::kArray;
  a.length = arrays.size();
  for (const auto& v : arrays)
    if (v.type() != GgufType::kArray)
      fail("GGUF array of arrays: an element is a {}", v.type_string());
  a.arrays = std::move(arrays);
  return GgufValue(std::move(a));
}

std::string GgufValue::type_string() const {
  const GgufArray* a = as_array();
  if (a == nullptr) return std::string(gguf_type_name(type()));
  if (a->element_type == GgufType::kArray)
    return fmt::format("array<{}>",
                       a->arrays.empty() ? std::string("array") : a->arrays.front().type_string());
  return fmt::format("array<{}>", gguf_type_name(a->element_type));
}

// --- metadata accessors ----------------------------------------------------------------------

GgufMetadata::GgufMetadata(std::string file, std::vector<GgufKeyValue> entries)
    : file_(std::move(file)), entries_(std::move(entries)) {
  index_.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (!index_.emplace(entries_[i].key, i).second)
      fail("{}: metadata key '{}' appears twice", file_, entries_[i].key);
}

const GgufValue* GgufMetadata::find(std::string_view key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].value;
}

const GgufValue& GgufMetadata::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) fail("{}: metadata key '{}' is missing", file_, key);
  return *v;
}

void GgufMetadata::wrong_type(std::string_view key, const GgufValue& v, const char* wanted) const {
  fail("{}: metadata key '{}' is {}, expected {}", file_, key, v.type_string(), wanted);
}

template <typename T>
T GgufMetadata::get_integer(std::string_view key, const char* wanted) const {
  const GgufValue& v = get(key);
  return std::visit(
      [&](const auto& x) -> T {
        using S = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<S> && !std::is_same_v<S, bool>) {
          if (!std::in_range<T>(x))
            fail("{}: metadata key '{}' is {} {}, which does not fit {}", file_, key,
                 gguf_type_name(v.type()), x, wanted);
          return static_cast<T>(x);
        } else {
          wrong_type(key, v, wanted);
        }
      },
      v.value);
}

std::uint16_t GgufMetadata::get_u16(std::string_view key) const {
  return get_integer<std::uint16_t>(key, "an integer (u16)");
}
std::uint32_t GgufMetadata::get_u32(std::string_view key) const {
  return get_integer<std::uint32_t>(key, "an integer (u32)");
}
std::int32_t GgufMetadata::get_i32(std::string_view key) const {
  return get_integer<std::int32_t>(key, "an integer (i32)");
}
std::uint64_t GgufMetadata::get_u64(std::string_view key) const {
  return get_integer<std::uint64_t>(key, "an integer (u64)");
}
std::int64_t GgufMetadata::get_i64(std::string_view key) const {
  return get_integer<std::int64_t>(key, "an integer (i64)");
}

double GgufMetadata::get_f64(std::string_view key) const {
  const GgufValue& v = get(key);
  if (const auto* f = std::get_if<float>(&v.value)) return *f;
  if (const auto* d = std::get_if<double>(&v.value)) return *d;
  wrong_type(key, v, "a float (f32 or f64)");
}

float GgufMetadata::get_f32(std::string_view key) const {
  return static_cast<float>(get_f64(key));
}

bool GgufMetadata::get_bool(std::string_view key) const {
  const GgufValue& v = get(key);
  if (const auto* b = std::get_if<bool>(&v.value)) return *b;
  wrong_type(key, v, "bool");
}

std::string_view GgufMetadata::get_string(std::string_view key) const {
  const GgufValue& v = get(key);
  if (const auto* s = std::get_if<std::string_view>(&v.value)) return *s;
  wrong_type(key, v, "string");
}

const GgufArray& GgufMetadata::get_array(std::string_view key) const {
  const GgufValue& v = get(key);
  if (const GgufArray* a = v.as_array()) return *a;
  wrong_type(key, v, "an array");
}

const std::vector<std::string_view>& GgufMetadata::get_string_array(std::string_view key) const {
  const GgufValue& v = get(key);
  const GgufArray* a = v.as_array();
  if (a == nullptr || a->element_type != GgufType::kString) wrong_type(key, v, "array<string>");
  return a->strings;
}

std::vector<std::int64_t> GgufMetadata::get_int_array(std::string_view key) const {
  const GgufValue& v = get(key);
  const GgufArray* a = v.as_array();
  const GgufType t = a ? a->element_type : GgufType::kArray;
  if (a == nullptr || t == GgufType::kString || t == GgufType::kArray || t == GgufType::kBool ||
      t == GgufType::kF32 || t == GgufType::kF64)
    wrong_type(key, v, "an array of integers");
  std::vector<std::int64_t> out(a->length);
  for (std::uint64_t i = 0; i < a->length; ++i) {
    const GgufValue e = a->element(i);
    if (const auto* u = std::get_if<std::uint64_t>(&e.value)) {
      if (!std::in_range<std::int64_t>(*u))
        fail("{}: metadata key '{}': element {} is {}, which does not fit i64", file_, key, i, *u);
      out[i] = static_cast<std::int64_t>(*u);
      continue;
    }
    out[i] = std::visit(
        [](const auto& x) -> std::int64_t {
          using S = std::decay_t<decltype(x)>;
          if constexpr (std::is_integral_v<S>) return static_cast<std::int64_t>(x);
          return 0;
        },
        e.value);
  }
  return out;
}

std::vector<float> GgufMetadata::get_f32_array(std::string_view key) const {
  const GgufValue& v = get(key);
  const GgufArray* a = v.as_array();
  if (a == nullptr || (a->element_type != GgufType::kF32 && a->element_type != GgufType::kF64))
    wrong_type(key, v, "array<f32>");
  std::vector<float> out(a->length);
  for (std::uint64_t i = 0; i < a->length; ++i) {
    const GgufValue e = a->element(i);
    out[i] = a->element_type == GgufType::kF32 ? std::get<float>(e.value)
                                               : static_cast<float>(std::get<double>(e.value));
  }
  return out;
}

std::optional<std::uint32_t> GgufMetadata::find_u32(std::string_view key) const {
  return contains(key) ? std::optional(get_u32(key)) : std::nullopt;
}
std::optional<std::int64_t> GgufMetadata::find_i64(std::string_view key) const {
  return contains(key) ? std::optional(get_i64(key)) : std::nullopt;
}
std::optional<std::uint64_t> GgufMetadata::find_u64(std::string_view key) const {
  return contains(key) ? std::optional(get_u64(key)) : std::nullopt;
}
std::optional<float> GgufMetadata::find_f32(std::string_view key) const {
  return contains(key) ? std::optional(get_f32(key)) : std::nullopt;
}
std::optional<bool> GgufMetadata::find_bool(std::string_view key) const {
  return contains(key) ? std::optional(get_bool(key)) : std::nullopt;
}
std::optional<std::string_view> GgufMetadata::find_string(std::string_view key) const {
  return contains(key) ? std::optional(get_string(key)) : std::nullopt;
}

std::string GgufTensor::shape_string() const {
  std::string s = "[";
  for (std::uint32_t i = 0; i < n_dims; ++i) s += fmt::format("{}{}", i ? ", " : "", ne[i]);
  return s + "]";
}

// --- parsing ---------------------------------------------------------------------------------

namespace {

// Reads the image front to back; every read is checked against the bytes left and fails with
// what was being read (`what`, set by the caller as it goes).
class Reader {
 public:
  Reader(std::span<const std::uint8_t> bytes, const std::string& file)
      : bytes_(bytes), file_(file) {}

  std::string what;  // "key 'general.name'", "tensor info 3 ('blk.0.attn_q.weight')"

  std::uint64_t pos() const { return pos_; }
  std::uint64_t left() const { return bytes_.size() - pos_; }

  const std::uint8_t* take(std::uint64_t n) {
    if (n > left())
      fail("{}: truncated at byte {} reading {}: needs {} more bytes, the file has {} left", file_,
           pos_, what, n, left());
    const std::uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <typename T>
  T read() {
    return load<T>(take(sizeof(T)));
  }
  std::string_view string() {
    const auto n = read<std::uint64_t>();
    if (n > left())
      fail("{}: {}: string length {} runs past the end of the file ({} bytes left)", file_, what, n,
           left());
    return {reinterpret_cast<const char*>(take(n)), static_cast<std::size_t>(n)};
  }
  // A count of items each at least `min_bytes` long: checked against the bytes left before
  // anyone allocates for it.
  std::uint64_t count(const char* of, std::uint64_t min_bytes) {
    const auto n = read<std::uint64_t>();
    if (n > left() / min_bytes)
      fail("{}: {}: {} count {} cannot fit in the {} bytes left in the file", file_, what, of, n,
           left());
    return n;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::string& file_;
  std::uint64_t pos_ = 0;
};

GgufType read_type(Reader& r, const std::string& file, const char* of) {
  const auto t = r.read<std::uint32_t>();
  if (t > kMaxGgufType)
    fail("{}: {}: unknown {} type id {} (GGUF defines 0 to {})", file, r.what, of, t, kMaxGgufType);
  return static_cast<GgufType>(t);
}

GgufValue read_value(Reader& r, const std::string& file, GgufType type, std::uint32_t depth);

GgufArray read_array(Reader& r, const std::string& file, std::uint32_t depth) {
  if (depth >= kMaxArrayDepth)
    fail("{}: {}: arrays nested more than {} deep", file, r.what, kMaxArrayDepth);
  GgufArray a;
  a.element_type = read_type(r, file, "array element");
  const std::size_t size = gguf_type_size(a.element_type);
  // The least bytes one element takes: a string its length, an array its type and count.
  const std::uint64_t min_bytes = size ? size : a.element_type == GgufType::kString ? 8 : 12;
  a.length = r.count("array element", min_bytes);
  if (size != 0) {
    a.raw = {r.take(a.length * size), static_cast<std::size_t>(a.length * size)};
    if (a.element_type == GgufType::kBool)
      for (std::size_t i = 0; i < a.raw.size(); ++i)
        if (a.raw[i] > 1)
          fail("{}: {}: bool element {} is {}, expected 0 or 1", file, r.what, i, a.raw[i]);
  } else if (a.element_type == GgufType::kString) {
    a.strings.reserve(a.length);
    for (std::uint64_t i = 0; i < a.length; ++i) a.strings.push_back(r.string());
  } else {
    a.arrays.reserve(a.length);
    for (std::uint64_t i = 0; i < a.length; ++i)
      a.arrays.emplace_back(read_array(r, file, depth + 1));
  }
  return a;
}

GgufValue read_value(Reader& r, const std::string& file, GgufType type, std::uint32_t depth) {
  switch (type) {
    case GgufType::kString:
      return r.string();
    case GgufType::kArray:
      return read_array(r, file, depth);
    case GgufType::kBool: {
      const auto b = r.read<std::uint8_t>();
      if (b > 1) fail("{}: {}: bool value is {}, expected 0 or 1", file, r.what, b);
      return b != 0;
    }
    default:
      return scalar_at(type, r.take(gguf_type_size(type)));
  }
}

std::string supported_ggml_types() {
  std::string s;
  for (std::uint32_t id = 0; id < 64; ++id)
    if (dtype_from_ggml_type(id))
      s += fmt::format("{}{}", s.empty() ? "" : ", ", ggml_type_name(id));
  return s;
}

std::uint32_t alignment_of(const GgufMetadata& metadata) {
  const std::string_view key = "general.alignment";
  const GgufValue* v = metadata.find(key);
  if (v == nullptr) return kGgufDefaultAlignment;
  const std::uint32_t a = metadata.get_u32(key);
  if (a == 0 || !std::has_single_bit(a))
    fail("{}: metadata key '{}' is {}, expected a nonzero power of two", metadata.file(), key, a);
  return a;
}

}  // namespace

GgufHeader parse_gguf(std::span<const std::uint8_t> bytes, const std::string& file) {
  Reader r(bytes, file);
  r.what = "the GGUF header";
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0)
    fail("{}: not a GGUF file (it does not start with the magic \"GGUF\")", file);
  r.take(4);
  GgufHeader h;
  h.version = r.read<std::uint32_t>();
  if (h.version != 2 && h.version != 3) {
    const std::uint32_t swapped = __builtin_bswap32(h.version);
    if (swapped >= 1 && swapped <= 3)
      fail("{}: big-endian GGUF (version {} byte-swapped): whale reads little-endian GGUF only",
           file, swapped);
    if (h.version == 1)
      fail("{}: GGUF version 1 is not supported (whale reads versions 2 and 3)", file);
    fail("{}: unknown GGUF version {} (whale reads versions 2 and 3)", file, h.version);
  }
  // Least bytes of one tensor info (name length, n_dims, type, offset) and of one key/value
  // (key length, type, a 1-byte value).
  const std::uint64_t n_tensors = r.count("tensor", 24);
  const std::uint64_t n_kv = r.count("metadata key/value", 13);

  std::vector<GgufKeyValue> entries;
  entries.reserve(n_kv);
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    r.what = fmt::format("metadata key/value {}", i);
    const std::string_view key = r.string();
    r.what = fmt::format("metadata key '{}'", key);
    const GgufType type = read_type(r, file, "value");
    entries.push_back({key, read_value(r, file, type, 0)});
  }
  h.metadata = GgufMetadata(file, std::move(entries));
  h.alignment = alignment_of(h.metadata);

  h.tensors.reserve(n_tensors);
  std::vector<std::uint64_t> sizes;  // bytes of each tensor
  sizes.reserve(n_tensors);
  std::unordered_map<std::string_view, std::size_t> names;
  names.reserve(n_tensors);
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    r.what = fmt::format("tensor info {}", i);
    t.name = r.string();
    if (!names.emplace(t.name, i).second)
      fail("{}: tensor '{}' appears twice (tensor infos {} and {})", file, t.name, names[t.name],
           i);
    r.what = fmt::format("tensor '{}'", t.name);
    t.n_dims = r.read<std::uint32_t>();
    if (t.n_dims < 1 || t.n_dims > kGgufMaxDims)
      fail("{}: tensor '{}' has {} dims, expected 1 to {}", file, t.name, t.n_dims, kGgufMaxDims);
    for (std::uint32_t d = 0; d < t.n_dims; ++d) {
      const auto n = r.read<std::uint64_t>();
      if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail("{}: tensor '{}': dim {} is {}, expected below 2^63", file, t.name, d, n);
      t.ne[d] = static_cast<std::int64_t>(n);
    }
    const bool empty = std::find(t.ne.begin(), t.ne.end(), 0) != t.ne.end();
    std::int64_t elements = empty ? 0 : 1;
    for (std::uint32_t d = 0; d < t.n_dims && !empty; ++d) {
      if (elements > std::numeric_limits<std::int64_t>::max() / t.ne[d])
        fail("{}: tensor '{}': shape {} has 2^63 elements or more", file, t.name, t.shape_string());
      elements *= t.ne[d];
    }
    t.ggml_type = r.read<std::uint32_t>();
    const std::optional<DType> dtype = dtype_from_ggml_type(t.ggml_type);
    if (!dtype) {
      const std::string_view name = ggml_type_name(t.ggml_type);
      fail("{}: tensor '{}' has GGML type {} (id {}), which whale does not support; supported: {}",
           file, t.name, name.empty() ? std::string_view("unknown") : name, t.ggml_type,
           supported_ggml_types());
    }
    t.dtype = *dtype;
    const std::int64_t block = dtype_block_elements(t.dtype);
    if (t.ne[0] % block != 0)
      fail("{}: tensor '{}': ne[0] = {} is not a multiple of the {} block size {}", file, t.name,
           t.ne[0], dtype_name(t.dtype), block);
    t.offset = r.read<std::uint64_t>();
    if (t.offset % h.alignment != 0)
      fail("{}: tensor '{}': offset {} is not a multiple of the alignment {}", file, t.name,
           t.offset, h.alignment);
    // Byte size: rows of whole blocks; at most the file size, checked below, so compute it
    // in a way that cannot overflow first.
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    const auto blocks_per_row = static_cast<std::uint64_t>(t.ne[0] / block);
    const std::uint64_t rows = elements == 0 ? 0 : static_cast<std::uint64_t>(elements / t.ne[0]);
    const std::uint64_t block_bytes = dtype_block_bytes(t.dtype);
    if (blocks_per_row > kMax / block_bytes ||
        (rows != 0 && blocks_per_row * block_bytes > kMax / rows))
      fail("{}: tensor '{}': {} {} is larger than any file", file, t.name, dtype_name(t.dtype),
           t.shape_string());
    const std::uint64_t row = blocks_per_row * block_bytes;
    sizes.push_back(row * rows);
    h.tensors.push_back(t);
  }

  h.data_offset = (r.pos() + h.alignment - 1) / h.alignment * h.alignment;
  const std::uint64_t data_size = h.data_offset <= bytes.size() ? bytes.size() - h.data_offset : 0;
  for (std::size_t i = 0; i < h.tensors.size(); ++i) {
    GgufTensor& t = h.tensors[i];
    const std::uint64_t n = sizes[i];
    if (t.offset > data_size || n > data_size - t.offset)
      fail(
          "{}: tensor '{}': {} bytes at offset {} run past the end of the data section ({} "
          "bytes; file truncated?)",
          file, t.name, n, t.offset, data_size);
    t.data = n == 0 ? std::span<const std::uint8_t>()
                    : bytes.subspan(static_cast<std::size_t>(h.data_offset + t.offset), n);
  }

  std::vector<const GgufTensor*> by_offset;
  for (const GgufTensor& t : h.tensors)
    if (!t.data.empty()) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor& a = *by_offset[i - 1];
    const GgufTensor& b = *by_offset[i];
    if (b.offset < a.offset + a.data.size())
      fail("{}: tensors '{}' (offset {}, {} bytes) and '{}' (offset {}) overlap", file, a.name,
           a.offset, a.data.size(), b.name, b.offset);
  }
  return h;
}

// --- files and split models ------------------------------------------------------------------

std::string gguf_split_path(const std::string& prefix, std::uint32_t part, std::uint32_t count) {
  return fmt::format("{}-{:05}-of-{:05}.gguf", prefix, part + 1, count);
}

bool is_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

namespace {

// split.* as gguf-split writes them: split.no (u16, 0-based), split.count (u16),
// split.tensors.count (i32, the total over all parts).
constexpr std::string_view kSplitNo = "split.no";
constexpr std::string_view kSplitCount = "split.count";
constexpr std::string_view kSplitTensors = "split.tensors.count";

}  // namespace

GgufModel::GgufModel(const std::string& path) {
  {
    MappedFile map(path);
    GgufHeader header = parse_gguf(map.bytes(), path);
    parts_.push_back({std::move(map), std::move(header)});
  }
  const std::uint32_t count = parts_.front().header.metadata.contains(kSplitCount)
                                  ? parts_.front().header.metadata.get_u16(kSplitCount)
                                  : 1;
  parts_.reserve(count);
  const GgufMetadata& first = parts_.front().header.metadata;
  if (count > 1) {
    const std::uint32_t no = first.get_u32(kSplitNo);
    static const std::regex pattern(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
    std::smatch m;
    if (!std::regex_match(path, m, pattern))
      fail("{}: {} is {}, but the file name does not follow NAME-{:05}-of-{:05}.gguf", path,
           kSplitCount, count, no + 1, count);
    const std::string prefix = m[1].str();
    if (no != 0)
      fail("{}: this is part {} of a split model ({} is {}); open the first part, {}", path, no + 1,
           kSplitNo, no, gguf_split_path(prefix, 0, count));
    if (std::stoul(m[3].str()) != count)
      fail("{}: {} is {}, but the file name says {} parts", path, kSplitCount, count, m[3].str());
    for (std::uint32_t i = 1; i < count; ++i) {
      const std::string part_path = gguf_split_path(prefix, i, count);
      std::error_code ec;
      if (!std::filesystem::exists(part_path, ec))
        fail("{}: part {} of {} of the split model is missing (opened from {})", part_path, i + 1,
             count, path);
      MappedFile map(part_path);
      GgufHeader header = parse_gguf(map.bytes(), part_path);
      const GgufMetadata& md = header.metadata;
      const auto part_no = md.find_u32(kSplitNo);
      if (part_no != i)
        fail("{}: {} is {}, expected {} (part {} of {})", part_path, kSplitNo,
             part_no ? fmt::format("{}", *part_no) : "missing", i, i + 1, count);
      const auto part_count = md.find_u32(kSplitCount);
      if (part_count != count)
        fail("{}: {} is {}, expected {} as in {}", part_path, kSplitCount,
             part_count ? fmt::format("{}", *part_count) : "missing", count, path);
      parts_.push_back({std::move(map), std::move(header)});
    }
  }

  for (std::uint32_t p = 0; p < parts_.size(); ++p)
    for (GgufTensor t : parts_[p].header.tensors) {
      t.part = p;
      if (!by_name_.emplace(t.name, tensors_.size()).second)
        fail("{}: tensor '{}' is also in {}", parts_[p].map.path(), t.name,
             parts_[tensors_[by_name_[t.name]].part].map.path());
      tensors_.push_back(t);
    }
  if (count > 1) {
    const std::uint64_t expected = first.get_u64(kSplitTensors);
    if (expected != tensors_.size())
      fail("{}: {} is {}, but the {} parts hold {} tensors", path, kSplitTensors, expected, count,
           tensors_.size());
  }
}

const GgufTensor* GgufModel::find_tensor(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufModel::tensor(std::string_view name) const {
  const GgufTensor* t = find_tensor(name);
  if (t == nullptr) fail("{}: no tensor '{}' in the model", path(), name);
  return *t;
}

PrefaultStats GgufModel::prefault(const RereadNotice& before_reread) const {
  std::vector<const MappedFile*> maps;
  for (const Part& p : parts_) maps.push_back(&p.map);
  return prefault_files(maps, before_reread);
}

std::uint64_t GgufModel::bytes_on_disk() const {
  std::uint64_t n = 0;
  for (const Part& p : parts_) n += p.map.size();
  return n;
}

}  // namespace whale
