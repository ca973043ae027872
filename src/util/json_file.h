// Reading JSON files with errors that name the file and the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace whale {

// Parses `text` as JSON; `what` names its origin (a path) in the error. Rejects
// malformed JSON and strings that are not valid UTF-8.
nlohmann::json parse_json(std::string_view text, const std::string& what);

// Reads and parses the file at `path`.
nlohmann::json read_json_file(const std::string& path);

// Writes `value` to `path` as Hugging Face writes its JSON files: indented by two spaces, keys
// sorted, a final newline. Throws whale::Error naming the path on an I/O error.
void write_json_file(const std::string& path, const nlohmann::json& value);

// Human-readable JSON type name for error messages ("a number", "a string", ...).
std::string json_type_name(const nlohmann::json& value);

}  // namespace whale
