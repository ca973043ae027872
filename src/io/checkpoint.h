// A Hugging Face model folder: config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json. Every shard is memory-mapped and its header validated on open.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "io/tensor_source.h"

namespace whale {

class Checkpoint final : public TensorSource {
 public:
  // Opens `folder`; throws whale::Error naming the file at fault.
  explicit Checkpoint(const std::string& folder);

  const std::string& folder() const { return folder_; }
  std::string config_path() const { return folder_ + "/config.json"; }

  const std::string& origin() const override { return folder_; }
  const TensorInfo* find(const std::string& name) const override;
  const std::map<std::string, const TensorInfo*>& tensors() const override { return tensors_; }
  PrefaultStats prefault(const RereadNotice& before_reread) const override;
  std::size_t bytes_on_disk() const;
  std::size_t shard_count() const { return files_.size(); }

 private:
  std::string folder_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorInfo*> tensors_;
};

// True when `path` is a directory holding config.json.
bool is_checkpoint_folder(const std::string& path);

}  // namespace whale
