// Writing safetensors files and Hugging Face model folders, streamed: every offset is known
// before the first byte is written, so the header goes first and each tensor's bytes follow in
// pieces. Only the piece being written is ever in memory, whatever the size of the model.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "formats/dtype.h"

namespace whale {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;

  std::int64_t numel() const;
  std::uint64_t bytes() const;  // numel * dtype_size
};

// The order in which the safetensors library lays tensors out in a file: widest dtype first,
// then by name. Every tensor then starts at a multiple of its element size.
std::vector<TensorSpec> safetensors_file_order(std::vector<TensorSpec> tensors);

// One safetensors file: 8-byte little-endian header length, the JSON header (metadata first,
// then every tensor with dtype, shape and data_offsets) padded with spaces to a multiple of 8,
// then the tensors' bytes back to back in safetensors_file_order.
class SafetensorsWriter {
 public:
  // Creates `path` (truncating it) and writes the header. Throws whale::Error naming the path
  // on an I/O error, a duplicate or empty tensor name, or a negative dimension.
  SafetensorsWriter(const std::string& path, std::vector<TensorSpec> tensors,
                    const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // The tensors in the order their bytes must be written.
  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  const std::string& path() const { return path_; }

  // Appends the next bytes of tensor data; a tensor may arrive in several pieces. Throws when
  // the bytes would run past the last tensor.
  void write(std::span<const std::uint8_t> bytes);
  std::uint64_t data_bytes_written() const { return written_; }
  std::uint64_t data_bytes_total() const { return total_; }

  // Checks that every tensor was written completely, then flushes and closes the file.
  void finish();

 private:
  std::string path_;
  std::vector<TensorSpec> tensors_;
  std::FILE* file_ = nullptr;
  std::uint64_t written_ = 0;
  std::uint64_t total_ = 0;
};

// Streams one tensor's bytes: call `write` with consecutive pieces that add up to its size.
using TensorBytesSink = std::function<void(std::span<const std::uint8_t>)>;
using TensorFiller = std::function<void(const TensorSpec& tensor, const TensorBytesSink& write)>;

// Splits tensors, taken in name order, into shards holding at most `max_shard_bytes` of data
// each, as Hugging Face's save_pretrained does; a tensor larger than the limit gets a shard of
// its own.
std::vector<std::vector<TensorSpec>> plan_shards(std::vector<TensorSpec> tensors,
                                                 std::uint64_t max_shard_bytes);

// Writes the weights of a model folder: `model.safetensors` when they fit in one shard,
// otherwise `model-0000K-of-0000N.safetensors` and `model.safetensors.index.json`
// ({"metadata": {"total_size": data bytes}, "weight_map": {tensor: shard}}). `fill` is called
// once per tensor, in file order. `progress(done, total)` (optional) follows the data bytes.
void write_model_safetensors(
    const std::string& folder, std::vector<TensorSpec> tensors, std::uint64_t max_shard_bytes,
    const TensorFiller& fill,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress = nullptr);

}  // namespace whale
