// Chat formats of the DeepSeek family: a chat request (OpenAI shape) rendered as the exact
// prompt text DeepSeek's official chat templates produce, without a Jinja engine. One renderer
// per format family, table-driven where formats differ only in details. Where an official
// template is buggy whale renders its evident intent; docs/chat-formats.md lists each case.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

// Named as the template files are (see chat_format_name): "deepseek-v3", "deepseek-r1", ...
enum class ChatFormatId {
  kDeepSeekV2,                 // DeepSeek-LLM / V2 / V2-Lite-Chat: "User: ...\n\nAssistant: ..."
  kDeepSeekV3,                 // DeepSeek-V3 (December 2024)
  kDeepSeekV3_0324,            // DeepSeek-V3-0324: every user turn ends with <｜Assistant｜>
  kDeepSeekR1,                 // DeepSeek-R1: generation prompt forces "<think>\n"
  kDeepSeekR1_0528,            // DeepSeek-R1-0528: V3-0324's layout, reasoning dropped
  kDeepSeekR1Distill,          // R1-Distill-Qwen/-Llama: last system message only, "<think>\n"
  kDeepSeekR1Distill_2025_01,  // R1-Distill first revision: no forced "<think>\n"
  kDeepSeekV3_1,               // DeepSeek-V3.1: thinking on/off by ChatRequest::thinking
};

enum class ChatRole { kSystem, kUser, kAssistant, kTool };

struct ChatToolCall {
  std::string id;         // never rendered
  std::string name;       // function.name
  std::string arguments;  // function.arguments: JSON text, rendered exactly as given
};

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string content;            // a request's null content reads as ""
  std::string reasoning_content;  // never rendered: no DeepSeek template reads it
  std::vector<ChatToolCall> tool_calls;
  std::string tool_call_id;  // never rendered
  bool prefix = false;       // V3.1: the model continues this last assistant message
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  nlohmann::ordered_json tools;  // as the client sent them (null when absent); never rendered
  std::optional<bool> thinking;  // V3.1's template variable; absent means false
  bool add_generation_prompt = true;
};

// DeepSeek's BOS as text (U+FF5C full-width bar, U+2581 lower one-eighth block).
inline constexpr std::string_view kDeepSeekBosText = "<｜begin▁of▁sentence｜>";

// The prompt text `format`'s template renders for `request`, starting with `bos_text` (pass the
// tokenizer_config.json bos_token, or "" when the tokenizer adds BOS itself). Throws
// whale::Error naming the message when the format cannot express it (tool calls in V2).
std::string render_chat(ChatFormatId format, const ChatRequest& request,
                        std::string_view bos_text = kDeepSeekBosText);

// Recognises a chat template (tokenizer_config.json "chat_template") by the features that set
// the formats apart, so reformatted or lightly edited copies match too. Throws whale::Error
// listing the known names when the template is none of them.
ChatFormatId detect_chat_format(std::string_view chat_template_jinja);

// "deepseek-v3" -> kDeepSeekV3 ...; throws whale::Error listing the names when unknown.
ChatFormatId parse_chat_format_name(std::string_view name);
std::string_view chat_format_name(ChatFormatId format);
std::span<const ChatFormatId> all_chat_formats();
// "deepseek-v2, deepseek-v3, ..." for messages and help text.
std::string chat_format_names();

}  // namespace whale
