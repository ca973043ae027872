#include "model/load.h"

#include "io/checkpoint.h"
#include "io/gguf.h"
#include "model/gguf_load.h"
#include "model/deepseek.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale {

std::unique_ptr<Model> load_model(const std::string& path) {
  if (is_gguf_file(path)) return load_gguf_model(path);
  if (!is_checkpoint_folder(path))
    fail("{}: not a model folder (expected a directory with config.json and safetensors)", path);
  // parse_deepseek_config names unknown architectures in its error.
  return std::make_unique<DeepSeekModel>(path);
}

}  // namespace whale
