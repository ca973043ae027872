#include "text/chat_request.h"

#include "util/error.h"

namespace whale {
namespace {

using Json = nlohmann::ordered_json;

std::string type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

// `object[key]`, or nullptr when the key is absent or null (both mean "not given").
const Json* field(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// "messages[1]" + "content" -> "messages[1].content"; the request itself has the empty path.
std::string field_path(const std::string& parent, const char* key) {
  return parent.empty() ? std::string(key) : parent + "." + key;
}

std::string string_field(const Json& object, const char* key, const std::string& path) {
  const Json* value = field(object, key);
  if (value == nullptr) return "";
  if (!value->is_string())
    fail("{}: expected a string, got {}", field_path(path, key), type_name(*value));
  return value->get<std::string>();
}

std::optional<bool> bool_field(const Json& object, const char* key, const std::string& path) {
  const Json* value = field(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean())
    fail("{}: expected a boolean (true or false), got {}", field_path(path, key),
         type_name(*value));
  return value->get<bool>();
}

// A string, or an array of {type: "text", text} parts, which are concatenated (the DeepSeek
// formats take text only).
std::string read_content(const Json& content, const std::string& path) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    fail("{}: expected a string or an array of text parts, got {}", path, type_name(content));
  std::string text;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string part_path = fmt::format("{}[{}]", path, i);
    if (!part.is_object())
      fail("{}: expected an object {{\"type\": \"text\", \"text\": ...}}, got {}", part_path,
           type_name(part));
    const Json* type = field(part, "type");
    if (type == nullptr || !type->is_string() || *type != "text")
      fail("{}.type: expected \"text\" (whale's DeepSeek formats take text only), got {}",
           part_path, type == nullptr ? "nothing" : type->dump());
    const Json* part_text = field(part, "text");
    if (part_text == nullptr || !part_text->is_string())
      fail("{}.text: expected a string, got {}", part_path,
           part_text == nullptr ? "nothing" : type_name(*part_text));
    text += part_text->get<std::string>();
  }
  return text;
}

ChatToolCall read_tool_call(const Json& call, const std::string& path) {
  if (!call.is_object()) fail("{}: expected an object, got {}", path, type_name(call));
  ChatToolCall out;
  out.id = string_field(call, "id", path);
  if (const Json* type = field(call, "type"); type != nullptr && *type != "function")
    fail("{}.type: expected \"function\", got {}", path, type->dump());
  const Json* function = field(call, "function");
  if (function == nullptr || !function->is_object())
    fail("{}.function: expected an object with name and arguments, got {}", path,
         function == nullptr ? "nothing" : type_name(*function));
  const Json* name = field(*function, "name");
  if (name == nullptr || !name->is_string() || name->get<std::string>().empty())
    fail("{}.function.name: expected a non-empty string, got {}", path,
         name == nullptr ? "nothing" : name->dump());
  out.name = name->get<std::string>();
  const Json* arguments = field(*function, "arguments");
  if (arguments == nullptr) fail("{}.function.arguments: missing (expected a JSON string)", path);
  // Arguments are JSON text; clients that send the object itself get it written compactly, keys
  // in their order (the official templates would raise on it, SOURCES.md quirk 11).
  out.arguments = arguments->is_string() ? arguments->get<std::string>() : arguments->dump();
  return out;
}

ChatMessage read_message(const Json& message, const std::string& path) {
  if (!message.is_object()) fail("{}: expected an object, got {}", path, type_name(message));
  ChatMessage out;
  const Json* role = field(message, "role");
  if (role == nullptr)
    fail("{}.role: missing (expected one of system, user, assistant, tool)", path);
  if (*role == "system") {
    out.role = ChatRole::kSystem;
  } else if (*role == "user") {
    out.role = ChatRole::kUser;
  } else if (*role == "assistant") {
    out.role = ChatRole::kAssistant;
  } else if (*role == "tool") {
    out.role = ChatRole::kTool;
  } else {
    fail("{}.role: expected one of system, user, assistant, tool, got {}", path, role->dump());
  }

  if (const Json* calls = field(message, "tool_calls")) {
    if (out.role != ChatRole::kAssistant)
      fail("{}.tool_calls: only assistant messages carry tool calls", path);
    if (!calls->is_array())
      fail("{}.tool_calls: expected an array, got {}", path, type_name(*calls));
    for (std::size_t i = 0; i < calls->size(); ++i)
      out.tool_calls.push_back(
          read_tool_call((*calls)[i], fmt::format("{}.tool_calls[{}]", path, i)));
  }

  // An assistant message may leave content null or out (next to tool calls, as OpenAI's shape
  // has it); it renders as "". The official templates raise on some of these (bugs 4 and 12).
  if (const Json* content = field(message, "content")) {
    out.content = read_content(*content, path + ".content");
  } else if (out.role != ChatRole::kAssistant) {
    fail("{}.content: expected a string or an array of text parts, got {}", path,
         message.contains("content") ? "null" : "nothing");
  }
  out.reasoning_content = string_field(message, "reasoning_content", path);
  out.tool_call_id = string_field(message, "tool_call_id", path);
  out.prefix = bool_field(message, "prefix", path).value_or(false);
  return out;
}

}  // namespace

ChatRequest chat_request_from_json(const nlohmann::ordered_json& body) {
  if (!body.is_object()) fail("request: expected a JSON object, got {}", type_name(body));
  ChatRequest request;
  const Json* messages = field(body, "messages");
  if (messages == nullptr) fail("messages: missing (expected an array of messages)");
  if (!messages->is_array() || messages->empty())
    fail("messages: expected a non-empty array, got {}",
         messages->is_array() ? "an empty array" : type_name(*messages));
  for (std::size_t i = 0; i < messages->size(); ++i)
    request.messages.push_back(read_message((*messages)[i], fmt::format("messages[{}]", i)));

  if (const Json* tools = field(body, "tools")) {
    if (!tools->is_array()) fail("tools: expected an array, got {}", type_name(*tools));
    for (std::size_t i = 0; i < tools->size(); ++i)
      if (!(*tools)[i].is_object())
        fail("tools[{}]: expected an object, got {}", i, type_name((*tools)[i]));
    request.tools = *tools;
  }
  request.thinking = bool_field(body, "thinking", "");
  request.add_generation_prompt = bool_field(body, "add_generation_prompt", "").value_or(true);
  return request;
}

ChatRequest parse_chat_request(std::string_view json_text, const std::string& origin) {
  Json body;
  try {
    body = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::parse_error& e) {
    // nlohmann's message reads "[json.exception.parse_error.101] parse error at line 1, ...".
    std::string message = e.what();
    if (const auto pos = message.find("] "); pos != std::string::npos) message.erase(0, pos + 2);
    fail("{}: malformed JSON: {}", origin, message);
  }
  return chat_request_from_json(body);
}

}  // namespace whale
