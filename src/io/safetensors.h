// safetensors: an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw little-endian data. Parsed fully and validated
// before any tensor is used; tensors point into the memory map, never copied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/dtype.h"
#include "util/mapped_file.h"

namespace whale {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> data;  // exactly product(shape) * dtype_size bytes
  std::string file;                    // the file it lives in, for error messages

  std::int64_t numel() const;
  std::string shape_string() const;  // "[576, 7168]"
};

struct SafetensorsHeader {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__", may be empty
};

// Parses and validates a complete safetensors image held in `bytes`; `file` names it in errors.
// Checks: header length within the file, JSON well-formed UTF-8, every entry's dtype known,
// shape non-negative, offsets ordered, inside the data area, sized as dtype * shape, and no two
// tensors overlapping.
SafetensorsHeader parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& file);

// A memory-mapped safetensors file and its parsed header.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  const SafetensorsHeader& header() const { return header_; }
  const std::string& path() const { return map_.path(); }
  std::size_t size_bytes() const { return map_.size(); }
  const MappedFile& map() const { return map_; }

 private:
  MappedFile map_;
  SafetensorsHeader header_;
};

}  // namespace whale
