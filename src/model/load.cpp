#include "model/load.h"

#include "io/checkpoint.h"
#include "io/gguf.h"
#include "model/deepseek.h"
#include "model/dense_loader.h"
#include "model/gguf_load.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale {

std::string model_type_of_folder(const std::string& path) {
  if (!is_checkpoint_folder(path))
    fail("{}: not a model folder (expected a directory with config.json and safetensors)", path);
  const std::string config_path = path + "/config.json";
  const nlohmann::json config = read_json_file(config_path);
  if (!config.is_object())
    fail("{}: expected a JSON object, got {}", config_path, json_type_name(config));
  const auto it = config.find("model_type");
  if (it == config.end() || !it->is_string())
    fail("{}: field 'model_type' is missing or not a string (expected one of {})", config_path,
         kSupportedModelTypes);
  return it->get<std::string>();
}

std::unique_ptr<Model> load_model(const std::string& path) {
  if (is_gguf_file(path)) return load_gguf_model(path);
  const std::string model_type = model_type_of_folder(path);
  if (model_type == "deepseek_v2" || model_type == "deepseek_v3")
    return std::make_unique<DeepSeekModel>(path);
  if (is_dense_model_type(model_type)) return load_dense_folder(path);
  fail("{}/config.json: model_type '{}' is not an architecture whale runs (supported: {})", path,
       model_type, kSupportedModelTypes);
}

}  // namespace whale
