// GGUF (llama.cpp's model file): "GGUF", a version, typed metadata key/values, tensor infos
// (name, GGML dims, GGML type, offset), then the tensor data, each tensor aligned to
// general.alignment. Read from a memory map and validated completely before anything is used;
// metadata strings and tensor data are views into the map, never copied.
//
// A model split by gguf-split (NAME-00001-of-00003.gguf ...) opens as one GgufModel: metadata
// from the first part, tensors from all of them.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "formats/dtype.h"
#include "util/mapped_file.h"

namespace whale {

// Metadata value types, numbered as GGUF stores them (enum gguf_type).
enum class GgufType : std::uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string_view gguf_type_name(GgufType type);  // "u32", "string", "array" ...
// Bytes of one stored value of a fixed-size type; 0 for string and array.
std::size_t gguf_type_size(GgufType type);

struct GgufValue;

template <typename T, typename Variant>
struct IsAlternative : std::false_type {};
template <typename T, typename... A>
struct IsAlternative<T, std::variant<A...>> : std::bool_constant<(std::is_same_v<T, A> || ...)> {};
template <typename T, typename Variant>
concept AlternativeOf = IsAlternative<T, Variant>::value;

// An array value. Numeric and bool elements stay as their packed little-endian bytes (a view),
// strings as views, nested arrays as values.
struct GgufArray {
  GgufType element_type = GgufType::kU8;
  std::uint64_t length = 0;
  std::span<const std::uint8_t> raw;      // numeric/bool: length * gguf_type_size bytes
  std::vector<std::string_view> strings;  // element_type == kString
  std::vector<GgufValue> arrays;          // element_type == kArray

  GgufValue element(std::uint64_t i) const;  // i < length
};

// One metadata value. The alternatives are in GGUF type id order, so type() is index().
// Strings and arrays are views: into the file for values read, into the caller's data for
// values handed to GgufWriter::set (which copies them at once).
struct GgufValue {
  using Storage = std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t,
                               std::uint32_t, std::int32_t, float, bool, std::string_view,
                               GgufArray, std::uint64_t, std::int64_t, double>;
  Storage value;

  GgufValue() = default;
  template <AlternativeOf<Storage> T>
  GgufValue(T v) : value(std::in_place_type<T>, std::move(v)) {}   // NOLINT: implicit on purpose
  GgufValue(const char* s) : value(std::string_view(s)) {}         // NOLINT
  GgufValue(const std::string& s) : value(std::string_view(s)) {}  // NOLINT

  // Arrays over the caller's elements (kept as views until written).
  template <typename T>
  static GgufValue array(std::span<const T> values);
  static GgufValue string_array(std::span<const std::string_view> values);
  static GgufValue string_array(std::span<const std::string> values);
  static GgufValue array_of_arrays(std::vector<GgufValue> arrays);

  GgufType type() const { return static_cast<GgufType>(value.index()); }
  const GgufArray* as_array() const { return std::get_if<GgufArray>(&value); }
  // The type as a reader sees it: "u32", "string", "array<string>", "array<array<i8>>".
  std::string type_string() const;
};

struct GgufKeyValue {
  std::string_view key;
  GgufValue value;
};

// The key/values of a file, in file order, with typed accessors. Every accessor that fails
// names the file, the key, the type it wanted and the type the file has.
class GgufMetadata {
 public:
  GgufMetadata() = default;
  GgufMetadata(std::string file, std::vector<GgufKeyValue> entries);  // keys must be unique

  const std::string& file() const { return file_; }
  const std::vector<GgufKeyValue>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  const GgufValue* find(std::string_view key) const;  // nullptr when absent
  const GgufValue& get(std::string_view key) const;   // fails when absent

  // Integers: any stored integer type whose value fits the requested one.
  std::uint16_t get_u16(std::string_view key) const;
  std::uint32_t get_u32(std::string_view key) const;
  std::int32_t get_i32(std::string_view key) const;
  std::uint64_t get_u64(std::string_view key) const;
  std::int64_t get_i64(std::string_view key) const;
  // Floats: f32 or f64 (a f64 as float, rounded).
  float get_f32(std::string_view key) const;
  double get_f64(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::string_view get_string(std::string_view key) const;
  const GgufArray& get_array(std::string_view key) const;
  // An array of strings, as views into the file (a 100k-token vocabulary is not copied).
  const std::vector<std::string_view>& get_string_array(std::string_view key) const;
  // Arrays of numbers, converted element by element (integers must fit).
  std::vector<std::int64_t> get_int_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;

  // nullopt when the key is absent; a present key of the wrong type still fails.
  std::optional<std::uint32_t> find_u32(std::string_view key) const;
  std::optional<std::int64_t> find_i64(std::string_view key) const;
  std::optional<std::uint64_t> find_u64(std::string_view key) const;
  std::optional<float> find_f32(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;
  std::optional<std::string_view> find_string(std::string_view key) const;

 private:
  template <typename T>
  T get_integer(std::string_view key, const char* wanted) const;
  [[noreturn]] void wrong_type(std::string_view key, const GgufValue& v, const char* wanted) const;

  std::string file_;
  std::vector<GgufKeyValue> entries_;
  std::unordered_map<std::string_view, std::size_t> index_;
};

// At most this many dims per tensor (GGML_MAX_DIMS).
constexpr std::uint32_t kGgufMaxDims = 4;
constexpr std::uint32_t kGgufDefaultAlignment = 32;

// A tensor as stored: a view of its bytes in the map, in the type a kernel can read directly.
struct GgufTensor {
  std::string_view name;
  DType dtype = DType::kF32;
  std::uint32_t ggml_type = 0;
  std::uint32_t n_dims = 0;
  std::array<std::int64_t, kGgufMaxDims> ne{1, 1, 1, 1};  // ne[0] varies fastest (GGML order)
  std::uint64_t offset = 0;            // from the start of its file's data section
  std::span<const std::uint8_t> data;  // exactly byte_size() bytes
  std::uint32_t part = 0;              // the split part holding it (0 for a single file)

  std::span<const std::int64_t> dims() const { return {ne.data(), n_dims}; }
  // The parser checked that a tensor without a zero dim has fewer than 2^63 elements; with a
  // zero dim the others may be anything, so the product is not formed.
  std::int64_t elements() const {
    for (const std::int64_t d : ne)
      if (d == 0) return 0;
    return ne[0] * ne[1] * ne[2] * ne[3];
  }
  std::size_t byte_size() const { return data.size(); }
  std::string shape_string() const;  // "[128, 600]" in GGML order
};

// One parsed GGUF image.
struct GgufHeader {
  std::uint32_t version = 0;
  std::uint32_t alignment = kGgufDefaultAlignment;
  std::uint64_t data_offset = 0;  // start of the data section in the file
  GgufMetadata metadata;
  std::vector<GgufTensor> tensors;  // in file order
};

// Parses and validates a complete GGUF image held in `bytes`; `file` names it in errors.
// Checks, each failing with a message naming the file and the key or tensor:
//  - the magic; versions 2 and 3 only (1 and unknown ones refused by number, a big-endian
//    file recognised by its byte-swapped version and refused as such);
//  - every count and string length against the bytes left, before anything is allocated;
//    value type ids; bools 0 or 1; arrays nested at most 8 deep; keys unique;
//  - general.alignment an integer, a nonzero power of two that fits u32 (default 32);
//  - tensor names unique; 1 to 4 dims, each non-negative, element count below 2^63; a known
//    GGML type that whale computes with (else the type's GGML name and the supported list);
//    ne[0] a multiple of the type's block size; offset a multiple of the alignment; data
//    inside the file; no two tensors overlapping.
// A dim of 0 is allowed (GGML allows it): the tensor is empty, 0 bytes, and overlaps nothing.
GgufHeader parse_gguf(std::span<const std::uint8_t> bytes, const std::string& file);

// A GGUF model on disk: one file, or every part of a split one (open the first part).
class GgufModel {
 public:
  // Opens `path`. When its split.count is above 1, the path must be NAME-00001-of-0000N.gguf
  // and every sibling NAME-0000i-of-0000N.gguf must exist with split.no i-1 and the same
  // split.count; the tensors of all parts together must number split.tensors.count and have
  // unique names.
  explicit GgufModel(const std::string& path);

  const std::string& path() const { return parts_.front().map.path(); }
  std::uint32_t version() const { return parts_.front().header.version; }
  std::uint32_t alignment() const { return parts_.front().header.alignment; }
  const GgufMetadata& metadata() const { return parts_.front().header.metadata; }
  // All tensors, part by part in file order.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(std::string_view name) const;  // nullptr when absent
  const GgufTensor& tensor(std::string_view name) const;       // fails naming it when absent

  std::size_t part_count() const { return parts_.size(); }
  // prefault_files over every part.
  PrefaultStats prefault(const RereadNotice& before_reread) const;
  const std::string& part_path(std::size_t i) const { return parts_[i].map.path(); }
  std::uint64_t bytes_on_disk() const;

 private:
  struct Part {
    MappedFile map;
    GgufHeader header;
  };
  std::vector<Part> parts_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string_view, std::size_t> by_name_;
};

// "NAME-00002-of-00005.gguf" for part 1 (0-based) of 5 of "NAME"; as llama.cpp names parts.
std::string gguf_split_path(const std::string& prefix, std::uint32_t part, std::uint32_t count);

// Is this a GGUF file (starts with the magic)? False for folders and unreadable paths.
bool is_gguf_file(const std::string& path);

template <typename T>
GgufValue GgufValue::array(std::span<const T> values) {
  static_assert(std::is_arithmetic_v<T>, "numeric or bool elements; strings use string_array");
  GgufArray a;
  a.element_type = GgufValue(T{}).type();
  a.length = values.size();
  a.raw = {reinterpret_cast<const std::uint8_t*>(values.data()), values.size_bytes()};
  return GgufValue(std::move(a));
}

}  // namespace whale
