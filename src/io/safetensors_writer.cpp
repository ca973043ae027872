#include "io/safetensors_writer.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "util/error.h"
#include "util/json_file.h"

namespace whale {

namespace fs = std::filesystem;

std::int64_t TensorSpec::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::uint64_t TensorSpec::bytes() const {
  return static_cast<std::uint64_t>(numel()) * dtype_size(dtype);
}

std::vector<TensorSpec> safetensors_file_order(std::vector<TensorSpec> tensors) {
  // As the safetensors library's serializer: larger alignment first, then name.
  std::sort(tensors.begin(), tensors.end(), [](const TensorSpec& a, const TensorSpec& b) {
    const std::size_t sa = dtype_size(a.dtype), sb = dtype_size(b.dtype);
    return sa != sb ? sa > sb : a.name < b.name;
  });
  return tensors;
}

namespace {

std::string header_json(const std::vector<TensorSpec>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  // Built by hand so that the keys keep the library's order: metadata first, then the tensors
  // in data order, each as {dtype, shape, data_offsets}.
  std::string json = "{";
  if (!metadata.empty()) json += "\"__metadata__\":" + nlohmann::json(metadata).dump();
  std::uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    if (json.size() > 1) json += ",";
    json += nlohmann::json(t.name).dump();
    json += fmt::format(R"(:{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
                        dtype_name(t.dtype), fmt::join(t.shape, ","), offset, offset + t.bytes());
    offset += t.bytes();
  }
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');  // the data area starts 8-byte aligned
  return json;
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(const std::string& path, std::vector<TensorSpec> tensors,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path), tensors_(safetensors_file_order(std::move(tensors))) {
  std::set<std::string_view> names;
  for (const TensorSpec& t : tensors_) {
    if (t.name.empty() || t.name == "__metadata__")
      fail("{}: '{}' is not a valid tensor name", path_, t.name);
    if (!names.insert(t.name).second) fail("{}: tensor '{}' is listed twice", path_, t.name);
    for (auto d : t.shape)
      if (d < 0) fail("{}: tensor '{}' has a negative dimension {}", path_, t.name, d);
    total_ += t.bytes();
  }
  const std::string header = header_json(tensors_, metadata);
  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(header.size() >> (8 * i));

  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) fail("{}: cannot create the file: {}", path_, std::strerror(errno));
  if (std::fwrite(length, 1, 8, file_) != 8 ||
      std::fwrite(header.data(), 1, header.size(), file_) != header.size())
    fail("{}: write error: {}", path_, std::strerror(errno));
}

SafetensorsWriter::~SafetensorsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void SafetensorsWriter::write(std::span<const std::uint8_t> bytes) {
  if (file_ == nullptr) fail("{}: write after finish()", path_);
  if (bytes.size() > total_ - written_)
    fail("{}: {} more bytes would run past the end of the tensor data ({} of {} bytes written)",
         path_, bytes.size(), written_, total_);
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    fail("{}: write error: {}", path_, std::strerror(errno));
  written_ += bytes.size();
}

void SafetensorsWriter::finish() {
  if (file_ == nullptr) return;
  if (written_ != total_)
    fail("{}: only {} of {} bytes of tensor data were written", path_, written_, total_);
  const bool ok = std::fflush(file_) == 0;
  const int error = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) fail("{}: write error: {}", path_, std::strerror(error));
}

std::vector<std::vector<TensorSpec>> plan_shards(std::vector<TensorSpec> tensors,
                                                 std::uint64_t max_shard_bytes) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorSpec& a, const TensorSpec& b) { return a.name < b.name; });
  std::vector<std::vector<TensorSpec>> shards;
  std::vector<TensorSpec> current;
  std::uint64_t current_bytes = 0;
  for (TensorSpec& t : tensors) {
    const std::uint64_t size = t.bytes();
    if (!current.empty() && current_bytes + size > max_shard_bytes) {
      shards.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current_bytes += size;
    current.push_back(std::move(t));
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));
  return shards;
}

void write_model_safetensors(const std::string& folder, std::vector<TensorSpec> tensors,
                             std::uint64_t max_shard_bytes, const TensorFiller& fill,
                             const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  if (max_shard_bytes == 0) fail("{}: the shard size limit must be at least 1 byte", folder);
  std::uint64_t total = 0;
  for (const TensorSpec& t : tensors) total += t.bytes();
  const auto shards = plan_shards(std::move(tensors), max_shard_bytes);
  const std::size_t n = shards.size();

  std::uint64_t done = 0;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t k = 0; k < n; ++k) {
    const std::string file =
        n == 1 ? "model.safetensors" : fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, n);
    SafetensorsWriter writer((fs::path(folder) / file).string(), shards[k]);
    for (const TensorSpec& t : writer.tensors()) {
      const std::uint64_t start = writer.data_bytes_written();
      fill(t, [&](std::span<const std::uint8_t> bytes) {
        if (writer.data_bytes_written() + bytes.size() > start + t.bytes())
          fail("{}: more than the {} bytes of tensor '{}' were written", writer.path(), t.bytes(),
               t.name);
        writer.write(bytes);
        done += bytes.size();
        if (progress) progress(done, total);
      });
      if (writer.data_bytes_written() != start + t.bytes())
        fail("{}: tensor '{}' got {} bytes, expected {}", writer.path(), t.name,
             writer.data_bytes_written() - start, t.bytes());
      weight_map[t.name] = file;
    }
    writer.finish();
  }
  if (n > 1) {
    const nlohmann::json index = {{"metadata", {{"total_size", total}}},
                                  {"weight_map", weight_map}};
    write_json_file((fs::path(folder) / "model.safetensors.index.json").string(), index);
  }
}

}  // namespace whale
