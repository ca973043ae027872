// The local models folder that `whale pull` fills and `whale list` shows: one subfolder per
// hub repository (<models>/deepseek-ai/DeepSeek-V2-Lite/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace whale::hub {

// $WHALE_MODELS, else ${XDG_CACHE_HOME:-$HOME/.cache}/whale/models. Throws whale::Error when
// neither WHALE_MODELS nor HOME is set.
std::string default_models_dir();

struct LocalModel {
  std::string name;         // path below the models folder: "deepseek-ai/DeepSeek-V2-Lite"
  std::string path;         // the folder
  std::string format;       // "safetensors" or "gguf"
  std::string model_type;   // config.json's "model_type" (safetensors folders); "" if unknown
  std::int64_t bytes = 0;   // size of the files in the folder, .part files excluded
  int weight_files = 0;     // .safetensors or .gguf files
  bool incomplete = false;  // a .part file, or a shard/split part that is missing
};

// Every folder below `models_dir` holding config.json with *.safetensors, or *.gguf files,
// sorted by name. A missing models folder holds no models.
std::vector<LocalModel> list_local_models(const std::string& models_dir);

}  // namespace whale::hub
