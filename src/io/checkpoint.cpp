#include "io/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "util/error.h"
#include "util/json_file.h"

namespace whale {

namespace fs = std::filesystem;

bool is_checkpoint_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

Checkpoint::Checkpoint(const std::string& folder) : folder_(folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) fail("{}: not a model folder (no such directory)", folder);
  if (!fs::is_regular_file(fs::path(folder) / "config.json", ec))
    fail("{}: not a model folder: config.json is missing", folder);

  const fs::path index_path = fs::path(folder) / "model.safetensors.index.json";
  const fs::path single_path = fs::path(folder) / "model.safetensors";
  if (fs::is_regular_file(index_path, ec)) {
    const std::string index_name = index_path.string();
    const nlohmann::json index = read_json_file(index_name);
    if (!index.is_object()) fail("{}: expected a JSON object", index_name);
    const auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object())
      fail("{}: field 'weight_map' is missing or not an object of tensor name -> shard file",
           index_name);
    std::map<std::string, std::size_t> shard_of_file;
    std::map<std::string, std::size_t> shard_of_tensor;
    for (const auto& [tensor, file_value] : wm->items()) {
      if (!file_value.is_string())
        fail("{}: weight_map['{}'] must be a shard file name, got {}", index_name, tensor,
             json_type_name(file_value));
      const std::string file = file_value.get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
        fail("{}: weight_map['{}'] names '{}', expected a file name inside the folder", index_name,
             tensor, file);
      auto it = shard_of_file.find(file);
      if (it == shard_of_file.end()) {
        const fs::path shard_path = fs::path(folder) / file;
        if (!fs::is_regular_file(shard_path, ec))
          fail("{}: weight_map names shard '{}' (for tensor '{}'), which does not exist in {}",
               index_name, file, tensor, folder);
        files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
        it = shard_of_file.emplace(file, files_.size() - 1).first;
      }
      shard_of_tensor[tensor] = it->second;
    }
    for (const auto& [tensor, shard] : shard_of_tensor) {
      const auto& header = files_[shard]->header();
      const auto t = header.tensors.find(tensor);
      if (t == header.tensors.end())
        fail("{}: tensor '{}' is listed in model.safetensors.index.json but missing from the shard",
             files_[shard]->path(), tensor);
      tensors_[tensor] = &t->second;
    }
  } else if (fs::is_regular_file(single_path, ec)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single_path.string()));
    for (const auto& [name, info] : files_.back()->header().tensors) tensors_[name] = &info;
  } else {
    fail("{}: no model.safetensors or model.safetensors.index.json in the folder", folder);
  }
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

PrefaultStats Checkpoint::prefault(const RereadNotice& before_reread) const {
  std::vector<const MappedFile*> maps;
  for (const auto& f : files_) maps.push_back(&f->map());
  return prefault_files(maps, before_reread);
}

std::size_t Checkpoint::bytes_on_disk() const {
  std::size_t total = 0;
  for (const auto& f : files_) total += f->size_bytes();
  return total;
}

}  // namespace whale
