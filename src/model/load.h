// Opens any model whale runs, choosing the architecture from the file itself.
#pragma once

#include <memory>
#include <string>

#include "model/model.h"

namespace whale {

inline constexpr const char* kSupportedModelTypes = "deepseek_v2, deepseek_v3, qwen2, llama";

// config.json's model_type of a model folder; throws whale::Error when there is none.
std::string model_type_of_folder(const std::string& path);

std::unique_ptr<Model> load_model(const std::string& path);

}  // namespace whale
