#include "util/json_file.h"

#include <fstream>
#include <sstream>

#include "util/error.h"

namespace whale {

nlohmann::json parse_json(std::string_view text, const std::string& what) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // Mostly parse_error; a number too large for a double ("1e999") is an out_of_range (406).
    // nlohmann's message reads "[json.exception.parse_error.101] parse error at line 1, ...".
    std::string message = e.what();
    if (const auto pos = message.find("] "); pos != std::string::npos) message.erase(0, pos + 2);
    fail("{}: malformed JSON: {}", what, message);
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  return parse_json(buffer.str(), path);
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot create the file", path);
  out << value.dump(2) << "\n";
  out.close();
  if (!out) fail("{}: write error", path);
}

std::string json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

}  // namespace whale
