// whale inspect FILE.gguf: the container as stored: version, alignment, every metadata key with
// its type and value (arrays summarised by element type, length and first values), and the
// tensors by type. --json prints the same as one object, with every tensor listed.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "io/gguf.h"
#include "util/error.h"

namespace whale::cli {
namespace {

constexpr std::uint64_t kHeadJson = 8;  // array elements shown in --json
constexpr std::uint64_t kHeadText = 4;  // ... and in the text listing
constexpr std::size_t kMaxTextString = 72;

nlohmann::json value_json(const GgufValue& v) {
  if (const GgufArray* a = v.as_array()) {
    nlohmann::json head = nlohmann::json::array();
    for (std::uint64_t i = 0; i < std::min(a->length, kHeadJson); ++i)
      head.push_back(value_json(a->element(i)));
    return {{"type", v.type_string()}, {"length", a->length}, {"head", std::move(head)}};
  }
  return std::visit(
      [](const auto& x) -> nlohmann::json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string_view>)
          return std::string(x);
        else if constexpr (std::is_same_v<T, GgufArray>)
          return nullptr;  // handled above
        else if constexpr (std::is_same_v<T, float>)
          return std::strtod(fmt::format("{}", x).c_str(), nullptr);  // 1e-06, not 9.99e-07
        else
          return x;
      },
      v.value);
}

// JSON text that never throws on invalid UTF-8 in a file's strings.
std::string dump(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string value_text(const GgufValue& v) {
  if (const GgufArray* a = v.as_array()) {
    std::string s = fmt::format("[{}]", a->length);
    for (std::uint64_t i = 0; i < std::min(a->length, kHeadText); ++i)
      s += (i ? ", " : " ") + value_text(a->element(i));
    if (a->length > kHeadText) s += ", ...";
    return s;
  }
  if (const auto* str = std::get_if<std::string_view>(&v.value)) {
    if (str->size() <= kMaxTextString) return dump(std::string(*str));
    return fmt::format("{}... ({} bytes)", dump(std::string(str->substr(0, kMaxTextString))),
                       str->size());
  }
  return dump(value_json(v));
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024.0 && u < 4) {
    b /= 1024.0;
    ++u;
  }
  return fmt::format("{:.{}f} {}", b, u == 0 ? 0 : 2, units[u]);
}

}  // namespace

void inspect_gguf(const std::string& path, bool json) {
  const GgufModel model(path);
  struct TypeTotal {
    std::int64_t tensors = 0;
    std::uint64_t bytes = 0;
  };
  std::map<std::string, TypeTotal> by_type;
  std::uint64_t tensor_bytes = 0;
  for (const GgufTensor& t : model.tensors()) {
    auto& e = by_type[std::string(dtype_name(t.dtype))];
    ++e.tensors;
    e.bytes += t.byte_size();
    tensor_bytes += t.byte_size();
  }

  if (json) {
    nlohmann::json j;
    j["format"] = "gguf";
    j["file"] = path;
    j["version"] = model.version();
    j["alignment"] = model.alignment();
    j["parts"] = model.part_count();
    j["bytes_on_disk"] = model.bytes_on_disk();
    j["metadata"] = nlohmann::json::object();
    for (const auto& [key, value] : model.metadata().entries())
      j["metadata"][std::string(key)] = value_json(value);
    j["tensors"] = nlohmann::json::array();
    for (const GgufTensor& t : model.tensors())
      j["tensors"].push_back(
          {{"name", std::string(t.name)},
           {"type", dtype_name(t.dtype)},
           {"shape", std::vector<std::int64_t>(t.dims().begin(), t.dims().end())},
           {"offset", t.offset},
           {"bytes", t.byte_size()},
           {"part", t.part}});
    j["tensor_types"] = nlohmann::json::object();
    for (const auto& [type, e] : by_type)
      j["tensor_types"][type] = {{"tensors", e.tensors}, {"bytes", e.bytes}};
    std::printf("%s\n", dump(j, 2).c_str());
    return;
  }

  std::printf("file          %s\n", path.c_str());
  std::printf("format        GGUF version %u, alignment %u, %zu part(s), %s on disk\n",
              model.version(), model.alignment(), model.part_count(),
              human_bytes(static_cast<double>(model.bytes_on_disk())).c_str());
  std::printf("metadata      %zu keys\n", model.metadata().size());
  std::size_t key_width = 0;
  for (const auto& kv : model.metadata().entries()) key_width = std::max(key_width, kv.key.size());
  for (const auto& [key, value] : model.metadata().entries())
    std::printf("  %-*s  %-14s %s\n", static_cast<int>(key_width), std::string(key).c_str(),
                value.type_string().c_str(), value_text(value).c_str());
  std::printf("tensors       %zu, %s of data\n", model.tensors().size(),
              human_bytes(static_cast<double>(tensor_bytes)).c_str());
  for (const auto& [type, e] : by_type)
    std::printf("  %-8s    %lld tensors, %s\n", type.c_str(), static_cast<long long>(e.tensors),
                human_bytes(static_cast<double>(e.bytes)).c_str());
}

}  // namespace whale::cli
