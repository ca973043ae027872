// Opens any model whale runs, choosing the architecture from the file itself.
#pragma once

#include <memory>
#include <string>

#include "model/model.h"

namespace whale {

std::unique_ptr<Model> load_model(const std::string& path);

}  // namespace whale
