// Chat request bodies as JSON: the OpenAI / DeepSeek chat-completions shape plus whale's
// `thinking` and `add_generation_prompt`, read into a ChatRequest.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "text/chat_format.h"

namespace whale {

// Errors name the field path: "messages[2].role: expected one of system, user, assistant, tool".
// Keys the renderers do not use (model, temperature, name, ...) are ignored.
ChatRequest chat_request_from_json(const nlohmann::ordered_json& body);

// Parses `json_text` first; `origin` names it in the malformed-JSON error ("stdin", a path).
ChatRequest parse_chat_request(std::string_view json_text, const std::string& origin);

}  // namespace whale
