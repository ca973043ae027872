#include "io/gguf_writer.h"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

#include "util/error.h"

namespace whale {
namespace {

// llama.cpp refuses tensor names of GGML_MAX_NAME (64) bytes or more.
constexpr std::size_t kMaxTensorName = 63;

template <typename T>
void append(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void append_string(std::string& out, std::string_view s) {
  append<std::uint64_t>(out, s.size());
  out.append(s);
}

void append_array(std::string& out, const GgufArray& a, const std::string& file,
                  std::string_view key);

void append_value(std::string& out, const GgufValue& v, const std::string& file,
                  std::string_view key) {
  if (const auto* s = std::get_if<std::string_view>(&v.value)) return append_string(out, *s);
  if (const GgufArray* a = v.as_array()) return append_array(out, *a, file, key);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>)
          append<std::uint8_t>(out, x ? 1 : 0);
        else if constexpr (std::is_arithmetic_v<T>)
          append<T>(out, x);
      },
      v.value);
}

void append_array(std::string& out, const GgufArray& a, const std::string& file,
                  std::string_view key) {
  append<std::uint32_t>(out, static_cast<std::uint32_t>(a.element_type));
  append<std::uint64_t>(out, a.length);
  const std::size_t size = gguf_type_size(a.element_type);
  if (size != 0) {
    if (a.raw.size() != a.length * size)
      fail("{}: metadata key '{}': array of {} {} holds {} bytes, expected {}", file, key, a.length,
           gguf_type_name(a.element_type), a.raw.size(), a.length * size);
    if (a.element_type == GgufType::kBool)
      for (std::uint8_t b : a.raw) append<std::uint8_t>(out, b != 0 ? 1 : 0);
    else
      out.append(reinterpret_cast<const char*>(a.raw.data()), a.raw.size());
  } else if (a.element_type == GgufType::kString) {
    if (a.strings.size() != a.length)
      fail("{}: metadata key '{}': array length {} but {} strings", file, key, a.length,
           a.strings.size());
    for (std::string_view s : a.strings) append_string(out, s);
  } else {
    if (a.arrays.size() != a.length)
      fail("{}: metadata key '{}': array length {} but {} arrays", file, key, a.length,
           a.arrays.size());
    for (const GgufValue& e : a.arrays) {
      const GgufArray* inner = e.as_array();
      if (inner == nullptr)
        fail("{}: metadata key '{}': an element of an array of arrays is {}", file, key,
             e.type_string());
      append_array(out, *inner, file, key);
    }
  }
}

void append_key_value(std::string& out, std::string_view key, const GgufValue& v,
                      const std::string& file) {
  append_string(out, key);
  append<std::uint32_t>(out, static_cast<std::uint32_t>(v.type()));
  append_value(out, v, file, key);
}

std::uint64_t align_up(std::uint64_t n, std::uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

}  // namespace

GgufWriter::GgufWriter(std::string path, GgufWriterOptions options)
    : path_(std::move(path)), options_(options) {
  if (options_.alignment == 0 || !std::has_single_bit(options_.alignment))
    fail("{}: GGUF alignment {} must be a nonzero power of two", path_, options_.alignment);
}

GgufWriter::~GgufWriter() {
  if (out_ != nullptr) std::fclose(out_);
  if (!finished_)
    for (const auto& p : temp_paths_) ::unlink(p.c_str());
}

void GgufWriter::set(std::string_view key, const GgufValue& value) {
  if (data_begun_) fail("{}: metadata key '{}' set after tensor data began", path_, key);
  if (key == "general.alignment")
    fail("{}: set general.alignment through GgufWriterOptions, not as a key", path_);
  if (key.starts_with("split."))
    fail("{}: metadata key '{}': the writer sets the split.* keys itself", path_, key);
  for (const auto& k : keys_)
    if (k == key) fail("{}: metadata key '{}' set twice", path_, key);
  append_key_value(metadata_, key, value, path_);
  keys_.emplace_back(key);
  ++metadata_count_;
}

void GgufWriter::add_tensor(std::string name, DType dtype, std::vector<std::int64_t> dims) {
  if (data_begun_) fail("{}: tensor '{}' declared after tensor data began", path_, name);
  if (name.size() > kMaxTensorName)
    fail("{}: tensor name '{}' is {} bytes, at most {} allowed", path_, name, name.size(),
         kMaxTensorName);
  if (!ggml_type_of(dtype))
    fail("{}: tensor '{}': {} has no GGUF type", path_, name, dtype_name(dtype));
  if (dims.empty() || dims.size() > kGgufMaxDims)
    fail("{}: tensor '{}' has {} dims, expected 1 to {}", path_, name, dims.size(), kGgufMaxDims);
  std::uint64_t elements = 1;
  for (const std::int64_t d : dims) {
    if (d < 0) fail("{}: tensor '{}': negative dim {}", path_, name, d);
    elements *= static_cast<std::uint64_t>(d);
  }
  if (dims[0] % dtype_block_elements(dtype) != 0)
    fail("{}: tensor '{}': ne[0] = {} is not a multiple of the {} block size {}", path_, name,
         dims[0], dtype_name(dtype), dtype_block_elements(dtype));
  for (const auto& t : tensors_)
    if (t.name == name) fail("{}: tensor '{}' declared twice", path_, name);
  const auto bytes =
      static_cast<std::uint64_t>(dtype_row_bytes(dtype, static_cast<std::int64_t>(elements)));
  tensors_.push_back({std::move(name), dtype, std::move(dims), bytes});
}

void GgufWriter::begin_data() {
  data_begun_ = true;
  const std::uint64_t a = options_.alignment;
  std::uint64_t in_part = 0, part_bytes = 0;
  std::uint32_t part = 0;
  for (Declared& t : tensors_) {
    const std::uint64_t padded = align_up(t.bytes, a);
    const bool too_many =
        options_.max_tensors_per_part != 0 && in_part + 1 > options_.max_tensors_per_part;
    const bool too_big =
        options_.max_bytes_per_part != 0 && part_bytes + padded > options_.max_bytes_per_part;
    if (in_part > 0 && (too_many || too_big)) {
      ++part;
      in_part = 0;
      part_bytes = 0;
    }
    t.part = part;
    t.offset = part_bytes;
    part_bytes += padded;
    ++in_part;
  }
  part_count_ = part + 1;
  split_ = options_.max_tensors_per_part != 0 || options_.max_bytes_per_part != 0;
  if (!split_) {
    final_paths_ = {path_};
  } else {
    if (!path_.ends_with(".gguf"))
      fail("{}: a split GGUF path must end in .gguf (parts are NAME-00001-of-0000N.gguf)", path_);
    if (part_count_ > 65535) fail("{}: {} parts, at most 65535 allowed", path_, part_count_);
    const std::string prefix = path_.substr(0, path_.size() - 5);
    for (std::uint32_t p = 0; p < part_count_; ++p)
      final_paths_.push_back(gguf_split_path(prefix, p, part_count_));
  }
  for (const auto& p : final_paths_) temp_paths_.push_back(p + ".tmp");
  open_part(0);
}

void GgufWriter::put(const void* data, std::size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, out_) != n)
    fail("{}: write failed: {}", temp_paths_[open_part_], std::strerror(errno));
}

void GgufWriter::open_part(std::uint32_t part) {
  open_part_ = part;
  const std::string& temp = temp_paths_[part];
  out_ = std::fopen(temp.c_str(), "wb");
  if (out_ == nullptr) fail("{}: cannot create: {}", temp, std::strerror(errno));

  std::string kv = part == 0 ? metadata_ : std::string();
  std::uint64_t n_kv = part == 0 ? metadata_count_ : 0;
  if (options_.alignment != kGgufDefaultAlignment) {
    append_key_value(kv, "general.alignment", options_.alignment, path_);
    ++n_kv;
  }
  if (split_) {
    std::uint64_t total = tensors_.size();
    if (total > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
      fail("{}: {} tensors do not fit split.tensors.count (i32)", path_, total);
    append_key_value(kv, "split.no", static_cast<std::uint16_t>(part), path_);
    append_key_value(kv, "split.count", static_cast<std::uint16_t>(part_count_), path_);
    append_key_value(kv, "split.tensors.count", static_cast<std::int32_t>(total), path_);
    n_kv += 3;
  }

  std::string infos;
  std::uint64_t n_tensors = 0;
  for (const Declared& t : tensors_) {
    if (t.part != part) continue;
    ++n_tensors;
    append_string(infos, t.name);
    append<std::uint32_t>(infos, static_cast<std::uint32_t>(t.dims.size()));
    for (const std::int64_t d : t.dims) append<std::uint64_t>(infos, static_cast<std::uint64_t>(d));
    append<std::uint32_t>(infos, *ggml_type_of(t.dtype));
    append<std::uint64_t>(infos, t.offset);
  }

  std::string head = "GGUF";
  append<std::uint32_t>(head, 3);
  append<std::uint64_t>(head, n_tensors);
  append<std::uint64_t>(head, n_kv);
  head += kv;
  head += infos;
  head.append(align_up(head.size(), options_.alignment) - head.size(), '\0');
  put(head.data(), head.size());
  part_data_ = 0;
}

void GgufWriter::close_part() {
  // Pad the last tensor like every other (as GGML writes it).
  const std::string zeros(align_up(part_data_, options_.alignment) - part_data_, '\0');
  put(zeros.data(), zeros.size());
  const std::string& temp = temp_paths_[open_part_];
  const bool ok = std::fflush(out_) == 0 && ::fsync(::fileno(out_)) == 0;
  const int err = errno;
  const bool closed = std::fclose(out_) == 0;
  out_ = nullptr;
  if (!ok || !closed) fail("{}: write failed: {}", temp, std::strerror(err));
}

// Moves past tensors already complete (and empty ones), opening parts in order as the next
// tensor to write needs them.
void GgufWriter::advance() {
  while (current_ < tensors_.size() && current_written_ == tensors_[current_].bytes) {
    ++current_;
    current_written_ = 0;
  }
  const std::uint32_t want = current_ < tensors_.size() ? tensors_[current_].part : open_part_;
  while (open_part_ < want) {
    close_part();
    open_part(open_part_ + 1);
  }
}

void GgufWriter::write_tensor_data(std::span<const std::uint8_t> chunk) {
  if (finished_) fail("{}: tensor data written after finish()", path_);
  if (!data_begun_) begin_data();
  if (chunk.empty()) return;
  advance();
  if (current_ == tensors_.size())
    fail("{}: {} bytes of tensor data beyond the declared tensors", path_, chunk.size());
  const Declared& t = tensors_[current_];
  if (chunk.size() > t.bytes - current_written_)
    fail("{}: tensor '{}': a chunk of {} bytes, but only {} of its {} bytes remain", path_, t.name,
         chunk.size(), t.bytes - current_written_, t.bytes);
  if (current_written_ == 0) {
    const std::string zeros(t.offset - part_data_, '\0');
    put(zeros.data(), zeros.size());
    part_data_ = t.offset;
  }
  put(chunk.data(), chunk.size());
  current_written_ += chunk.size();
  part_data_ += chunk.size();
}

std::vector<std::string> GgufWriter::finish() {
  if (finished_) return final_paths_;
  if (!data_begun_) begin_data();
  advance();
  if (current_ != tensors_.size())
    fail("{}: tensor '{}' has {} of its {} bytes written", path_, tensors_[current_].name,
         current_written_, tensors_[current_].bytes);
  while (open_part_ + 1 < part_count_) {  // trailing parts of empty tensors only
    close_part();
    open_part(open_part_ + 1);
  }
  close_part();
  for (std::size_t i = 0; i < final_paths_.size(); ++i)
    if (std::rename(temp_paths_[i].c_str(), final_paths_[i].c_str()) != 0)
      fail("{}: cannot rename {} into place: {}", final_paths_[i], temp_paths_[i],
           std::strerror(errno));
  finished_ = true;
  return final_paths_;
}

}  // namespace whale
