#include "hub/local_models.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "util/error.h"
#include "util/json_file.h"

namespace whale::hub {
namespace {

namespace fs = std::filesystem;

struct FolderContents {
  std::set<std::string> names;  // regular files directly inside
  std::int64_t bytes = 0;
  int safetensors = 0, ggufs = 0, parts = 0;
  int safetensors_parts = 0, gguf_parts = 0;  // unfinished downloads
};

// Split GGUF parts "x-00001-of-00003.gguf": each group must have all its parts.
bool gguf_parts_missing(const std::set<std::string>& names) {
  std::map<std::string, std::pair<int, int>> groups;  // prefix -> (found, expected)
  for (const auto& name : names) {
    constexpr std::size_t kSuffix = std::string_view("-00001-of-00003.gguf").size();
    if (name.size() <= kSuffix || !name.ends_with(".gguf")) continue;
    const std::string suffix = name.substr(name.size() - kSuffix);
    if (suffix[0] != '-' || suffix.substr(6, 4) != "-of-") continue;
    const int expected = std::atoi(suffix.substr(10, 5).c_str());
    auto& group = groups[name.substr(0, name.size() - kSuffix) + suffix.substr(6, 9)];
    ++group.first;
    group.second = expected;
  }
  return std::any_of(groups.begin(), groups.end(),
                     [](const auto& g) { return g.second.first < g.second.second; });
}

bool shards_missing(const fs::path& folder, const std::set<std::string>& names) {
  if (!names.count("model.safetensors.index.json")) return false;
  try {
    const nlohmann::json index = read_json_file((folder / "model.safetensors.index.json").string());
    if (!index.contains("weight_map") || !index["weight_map"].is_object()) return false;
    for (const auto& [tensor, shard] : index["weight_map"].items())
      if (shard.is_string() && !names.count(shard.get<std::string>())) return true;
  } catch (const Error&) {
    return true;
  }
  return false;
}

std::string model_type_of(const fs::path& config) {
  try {
    const nlohmann::json j = read_json_file(config.string());
    if (j.is_object() && j.contains("model_type") && j["model_type"].is_string())
      return j["model_type"].get<std::string>();
  } catch (const Error&) {
  }
  return "";
}

}  // namespace

std::string default_models_dir() {
  if (const char* dir = std::getenv("WHALE_MODELS"); dir != nullptr && *dir != '\0') return dir;
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache == '/')
    return std::string(cache) + "/whale/models";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.cache/whale/models";
  fail("no models folder: set WHALE_MODELS (or HOME), or pass --models-dir");
}

std::vector<LocalModel> list_local_models(const std::string& models_dir) {
  std::vector<LocalModel> models;
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec)) return models;
  std::map<fs::path, FolderContents> folders;
  fs::recursive_directory_iterator it(models_dir, fs::directory_options::skip_permission_denied,
                                      ec);
  if (ec) fail("{}: cannot read: {}", models_dir, ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) fail("{}: cannot read: {}", models_dir, ec.message());
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (it->is_directory(ec)) {
      if (name.starts_with(".")) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    FolderContents& folder = folders[path.parent_path()];
    if (name.ends_with(".part")) {
      ++folder.parts;
      folder.safetensors_parts += name.ends_with(".safetensors.part");
      folder.gguf_parts += name.ends_with(".gguf.part");
      continue;
    }
    folder.names.insert(name);
    folder.bytes += static_cast<std::int64_t>(it->file_size(ec));
    folder.safetensors += name.ends_with(".safetensors");
    folder.ggufs += name.ends_with(".gguf");
  }
  for (const auto& [path, contents] : folders) {
    LocalModel model;
    if (contents.names.count("config.json") &&
        contents.safetensors + contents.safetensors_parts > 0) {
      model.format = "safetensors";
      model.weight_files = contents.safetensors;
      model.model_type = model_type_of(path / "config.json");
      model.incomplete = contents.parts > 0 || shards_missing(path, contents.names);
    } else if (contents.ggufs + contents.gguf_parts > 0) {
      model.format = "gguf";
      model.weight_files = contents.ggufs;
      model.incomplete = contents.parts > 0 || gguf_parts_missing(contents.names);
    } else {
      continue;
    }
    model.name = fs::relative(path, models_dir, ec).generic_string();
    if (ec || model.name.empty()) model.name = path.string();
    model.path = path.string();
    model.bytes = contents.bytes;
    models.push_back(std::move(model));
  }
  std::sort(models.begin(), models.end(),
            [](const LocalModel& a, const LocalModel& b) { return a.name < b.name; });
  return models;
}

}  // namespace whale::hub
