// Writes GGUF version 3 files, streaming: metadata and tensor declarations first, then each
// tensor's bytes in declaration order (in chunks if wished), so a model far larger than memory
// can be written. Optionally split into parts NAME-0000i-of-0000N.gguf with the split.* keys as
// llama.cpp's gguf-split writes them (all metadata in the first part). Every file is written
// under a temporary name and renamed into place only by finish(); a writer destroyed before
// that removes its temporaries.
//
//   GgufWriter w("model.gguf");
//   w.set("general.architecture", "deepseek2");
//   w.set("deepseek2.block_count", std::uint32_t{3});
//   w.add_tensor("token_embd.weight", DType::kBF16, {128, 600});
//   w.write_tensor_data(bytes);   // exactly the declared size, possibly over several calls
//   w.finish();
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/dtype.h"
#include "io/gguf.h"

namespace whale {

struct GgufWriterOptions {
  std::uint32_t alignment = kGgufDefaultAlignment;  // written as general.alignment if not 32
  // Splitting: start a new part before a tensor that would exceed either limit (0: no limit).
  // A part always holds at least one tensor.
  std::uint64_t max_tensors_per_part = 0;
  std::uint64_t max_bytes_per_part = 0;  // tensor data bytes, padding included
};

class GgufWriter {
 public:
  explicit GgufWriter(std::string path, GgufWriterOptions options = {});
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Adds a metadata key (kept in call order). The value is copied now, so views it holds need
  // live only for the call. Fails on a repeated key, on general.alignment (set it through the
  // options) or split.* (the writer owns those), and after tensor data has begun.
  void set(std::string_view key, const GgufValue& value);

  // Declares the next tensor: dims in GGML order (ne[0] fastest), 1 to 4 of them, ne[0] a
  // multiple of the block size. Fails on a repeated name or after tensor data has begun.
  void add_tensor(std::string name, DType dtype, std::vector<std::int64_t> dims);

  // Appends bytes of the current tensor (declaration order). A chunk may not run past the end
  // of the current tensor; when a tensor is complete the next one begins. The first call
  // writes the headers, after which nothing more can be declared.
  void write_tensor_data(std::span<const std::uint8_t> chunk);

  // Checks every declared tensor was written in full, flushes, and renames the temporaries
  // into place. Returns the files written (one, or the parts in order).
  std::vector<std::string> finish();

  // The names the files will have (known once tensor data has begun or finish() is called).
  const std::vector<std::string>& paths() const { return final_paths_; }

 private:
  struct Declared {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> dims;
    std::uint64_t bytes;
    std::uint32_t part = 0;
    std::uint64_t offset = 0;  // in its part's data section
  };
  void begin_data();
  void open_part(std::uint32_t part);
  void close_part();
  void advance();
  void put(const void* data, std::size_t n);

  std::string path_;
  GgufWriterOptions options_;
  std::string metadata_;  // serialized key/values, in order
  std::uint64_t metadata_count_ = 0;
  std::vector<std::string> keys_;
  std::vector<Declared> tensors_;
  std::uint32_t part_count_ = 1;
  std::vector<std::string> final_paths_, temp_paths_;
  std::FILE* out_ = nullptr;
  std::uint32_t open_part_ = 0;
  std::size_t current_ = 0;  // tensor being written
  std::uint64_t current_written_ = 0;
  std::uint64_t part_data_ = 0;  // bytes of the open part's data section written
  bool split_ = false, data_begun_ = false, finished_ = false;
};

}  // namespace whale
