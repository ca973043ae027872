// The DeepSeek chat formats, written from the official templates (tests/data/chat-templates/
// templates/*.jinja). Three families:
//   - V2: "User: ...\n\nAssistant: ...<eos>", no tool calls;
//   - V3, V3-0324, R1, R1-0528, R1-Distill: <｜User｜>/<｜Assistant｜> turns with fenced JSON
//     tool calls; they differ in a handful of details, one UserAssistantStyle row each;
//   - V3.1: its own tool-call layout and a thinking switch.
// Where an official template is buggy (SOURCES.md "Known bugs"), the renderer follows the
// patched templates in templates/fixed/; each place says which bug it fixes.
#include "text/chat_format.h"

#include <array>

#include "util/error.h"

namespace whale {
namespace {

// Special tokens as text. The bar is U+FF5C and the space mark U+2581, 3 bytes each in UTF-8.
constexpr std::string_view kEos = "<｜end▁of▁sentence｜>";
constexpr std::string_view kUser = "<｜User｜>";
constexpr std::string_view kAssistant = "<｜Assistant｜>";
constexpr std::string_view kToolCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kToolCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kToolCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kToolCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kToolSep = "<｜tool▁sep｜>";
constexpr std::string_view kToolOutputsBegin = "<｜tool▁outputs▁begin｜>";
constexpr std::string_view kToolOutputsEnd = "<｜tool▁outputs▁end｜>";
constexpr std::string_view kToolOutputBegin = "<｜tool▁output▁begin｜>";
constexpr std::string_view kToolOutputEnd = "<｜tool▁output▁end｜>";
constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

struct FormatName {
  ChatFormatId id;
  std::string_view name;
};

constexpr std::array<FormatName, 8> kFormatNames = {{
    {ChatFormatId::kDeepSeekV2, "deepseek-v2"},
    {ChatFormatId::kDeepSeekV3, "deepseek-v3"},
    {ChatFormatId::kDeepSeekV3_0324, "deepseek-v3-0324"},
    {ChatFormatId::kDeepSeekR1, "deepseek-r1"},
    {ChatFormatId::kDeepSeekR1_0528, "deepseek-r1-0528"},
    {ChatFormatId::kDeepSeekR1Distill, "deepseek-r1-distill"},
    {ChatFormatId::kDeepSeekR1Distill_2025_01, "deepseek-r1-distill-2025-01"},
    {ChatFormatId::kDeepSeekV3_1, "deepseek-v3.1"},
}};

constexpr std::array<ChatFormatId, 8> kAllFormats = [] {
  std::array<ChatFormatId, 8> ids{};
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = kFormatNames[i].id;
  return ids;
}();

// Which assistant turns lose the reasoning before `</think>` (the R1 family's
// `content.split('</think>')[-1]`).
enum class ReasoningInHistory {
  kKept,                   // V3, V3-0324: content is rendered as given
  kDroppedFromPlainTurns,  // R1, R1-Distill: only answers that follow no tool output
  kDroppedEverywhere,      // R1-0528: every assistant message, tool-call turns included
};

// The details in which the <｜User｜>/<｜Assistant｜> formats differ.
struct UserAssistantStyle {
  // All system messages joined by "\n\n" (true), or only the last one (R1-Distill).
  bool joins_system_messages;
  // V3-0324 layout: a user turn is `<｜User｜>TEXT<｜Assistant｜>`, so assistant turns add no
  // `<｜Assistant｜>`, the generation prompt adds nothing after a user turn, and a tool-call turn
  // after tool outputs first closes them with `<｜tool▁outputs▁end｜>`. Otherwise (V3 layout)
  // every assistant turn that does not answer tool outputs opens with `<｜Assistant｜>`.
  bool user_turn_opens_assistant;
  ReasoningInHistory reasoning;
  std::string_view tool_output_separator;  // between consecutive tool outputs
  std::string_view generation_prompt;
};

constexpr UserAssistantStyle kV3Style{true, false, ReasoningInHistory::kKept, "\n",
                                      "<｜Assistant｜>"};
constexpr UserAssistantStyle kV3_0324Style{true, true, ReasoningInHistory::kKept, "\n",
                                           "<｜Assistant｜>"};
// R1 writes no "\n" between tool outputs (SOURCES.md quirk 9), kept as the official template has
// it: we cannot tell what the model was trained on.
constexpr UserAssistantStyle kR1Style{true, false, ReasoningInHistory::kDroppedFromPlainTurns, "",
                                      "<｜Assistant｜><think>\n"};
constexpr UserAssistantStyle kR1_0528Style{true, true, ReasoningInHistory::kDroppedEverywhere, "\n",
                                           "<｜Assistant｜>"};
constexpr UserAssistantStyle kR1DistillStyle{
    false, false, ReasoningInHistory::kDroppedFromPlainTurns, "\n", "<｜Assistant｜><think>\n"};
constexpr UserAssistantStyle kR1Distill_2025_01Style{
    false, false, ReasoningInHistory::kDroppedFromPlainTurns, "\n", "<｜Assistant｜>"};

// R1 family: the text after the last `</think>` (leading newlines kept).
std::string_view after_last_think_close(std::string_view content) {
  const std::size_t at = content.rfind(kThinkClose);
  return at == std::string_view::npos ? content : content.substr(at + kThinkClose.size());
}

// V3.1: the text after the first `</think>` (`split('</think>', 1)[1]`).
std::string_view after_first_think_close(std::string_view content) {
  const std::size_t at = content.find(kThinkClose);
  return at == std::string_view::npos ? content : content.substr(at + kThinkClose.size());
}

// The system prompt placed right after BOS: wherever system messages occur, all of them joined
// with "\n\n", or only the last one.
std::string system_prompt(const std::vector<ChatMessage>& messages, bool join_all) {
  std::string prompt;
  bool first = true;
  for (const ChatMessage& m : messages) {
    if (m.role != ChatRole::kSystem) continue;
    if (!join_all) {
      prompt = m.content;
    } else {
      if (!first) prompt += "\n\n";
      prompt += m.content;
    }
    first = false;
  }
  return prompt;
}

void append(std::string& out, std::initializer_list<std::string_view> pieces) {
  for (std::string_view p : pieces) out += p;
}

// `<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>`, calls
// separated by "\n". The templates print the call's `type`, which is always "function".
void append_fenced_tool_calls(std::string& out, const std::vector<ChatToolCall>& calls) {
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (i > 0) out += '\n';
    append(out, {kToolCallBegin, "function", kToolSep, calls[i].name, "\n```json\n",
                 calls[i].arguments, "\n```", kToolCallEnd});
  }
}

std::string render_user_assistant(const UserAssistantStyle& style, const ChatRequest& request,
                                  std::string_view bos_text) {
  auto reasoning_dropped = [&](std::string_view content, bool plain_turn) {
    const bool drop = style.reasoning == ReasoningInHistory::kDroppedEverywhere ||
                      (plain_turn && style.reasoning == ReasoningInHistory::kDroppedFromPlainTurns);
    return drop ? after_last_think_close(content) : content;
  };

  std::string out(bos_text);
  out += system_prompt(request.messages, style.joins_system_messages);
  bool in_tool_outputs = false;   // the template's ns.is_tool
  bool first_tool_output = true;  // ns.is_output_first
  bool last_was_user = false;     // ns.is_last_user
  for (const ChatMessage& m : request.messages) {
    switch (m.role) {
      case ChatRole::kSystem:
        break;  // placed after BOS above
      case ChatRole::kUser:
        // A user turn after tool outputs leaves them unclosed (no <｜tool▁outputs▁end｜>):
        // SOURCES.md quirk 10, kept as every official template renders it.
        in_tool_outputs = false;
        last_was_user = true;
        append(out, {kUser, m.content});
        if (style.user_turn_opens_assistant) out += kAssistant;
        break;
      case ChatRole::kAssistant:
        last_was_user = false;
        if (!m.tool_calls.empty()) {
          if (style.user_turn_opens_assistant) {
            if (in_tool_outputs) out += kToolOutputsEnd;
          } else {
            out += kAssistant;
          }
          // Bug 3 (V3, R1, R1-Distill never reset these, so a second tool-call turn lost its
          // opening tokens and its outputs their <｜tool▁outputs▁begin｜>): reset every turn, as
          // V3-0324 and R1-0528 do. Bug 2 (V3, R1-Distill drop the calls of a message that also
          // has content): content then calls, as R1 renders them. Bug 1 (V3, R1-Distill close the
          // calls inside the loop, so one call is never closed): closed once after the last call.
          in_tool_outputs = false;
          first_tool_output = true;
          out += reasoning_dropped(m.content, false);
          out += kToolCallsBegin;
          append_fenced_tool_calls(out, m.tool_calls);
          append(out, {kToolCallsEnd, kEos});
        } else if (in_tool_outputs) {
          // The answer to tool outputs follows them directly, with no <｜Assistant｜>.
          append(out, {kToolOutputsEnd, reasoning_dropped(m.content, false), kEos});
          in_tool_outputs = false;
        } else {
          if (!style.user_turn_opens_assistant) out += kAssistant;
          append(out, {reasoning_dropped(m.content, true), kEos});
        }
        break;
      case ChatRole::kTool:
        last_was_user = false;
        in_tool_outputs = true;
        out += first_tool_output ? kToolOutputsBegin : style.tool_output_separator;
        first_tool_output = false;
        append(out, {kToolOutputBegin, m.content, kToolOutputEnd});
        break;
    }
  }
  if (in_tool_outputs) out += kToolOutputsEnd;
  // After tool outputs the model continues without a generation prompt; in the V3-0324 layout
  // the last user turn already opened the assistant's turn.
  if (request.add_generation_prompt && !in_tool_outputs &&
      !(style.user_turn_opens_assistant && last_was_user))
    out += style.generation_prompt;
  return out;
}

std::string render_v3_1(const ChatRequest& request, std::string_view bos_text) {
  const bool thinking = request.thinking.value_or(false);
  std::string out(bos_text);
  out += system_prompt(request.messages, true);
  bool in_tool_outputs = false;
  bool last_was_user = false;
  for (const ChatMessage& m : request.messages) {
    switch (m.role) {
      case ChatRole::kSystem:
        break;
      case ChatRole::kUser:
        in_tool_outputs = false;
        last_was_user = true;
        append(out, {kUser, m.content});
        break;
      case ChatRole::kAssistant:
        if (!m.tool_calls.empty()) {
          // A tool-call turn is always non-thinking, whatever `thinking` says. No type, no
          // fence and no separator between calls; the content is kept as given.
          if (last_was_user) append(out, {kAssistant, kThinkClose});
          append(out, {m.content, kToolCallsBegin});
          for (const ChatToolCall& call : m.tool_calls)
            append(out, {kToolCallBegin, call.name, kToolSep, call.arguments, kToolCallEnd});
          append(out, {kToolCallsEnd, kEos});
          in_tool_outputs = false;
        } else {
          // History turns are non-thinking; only a prefix to continue in thinking mode opens
          // <think>. The prefix keeps its EOS as the official template writes it: a server
          // continuing the prefix drops it.
          if (last_was_user)
            append(out, {kAssistant, m.prefix && thinking ? kThinkOpen : kThinkClose});
          // Official bug 12 (null content raises) cannot happen: null reads as "".
          append(out, {in_tool_outputs ? std::string_view(m.content)
                                       : after_first_think_close(m.content),
                       kEos});
          in_tool_outputs = false;
        }
        last_was_user = false;
        break;
      case ChatRole::kTool:
        // No <｜tool▁outputs▁begin｜>/<｜tool▁outputs▁end｜> wrapper and no separator.
        last_was_user = false;
        in_tool_outputs = true;
        append(out, {kToolOutputBegin, m.content, kToolOutputEnd});
        break;
    }
  }
  if (request.add_generation_prompt && last_was_user && !in_tool_outputs)
    append(out, {kAssistant, thinking ? kThinkOpen : kThinkClose});
  return out;
}

std::string render_v2(const ChatRequest& request, std::string_view bos_text) {
  std::string out(bos_text);
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const ChatMessage& m = request.messages[i];
    // The V2 template silently drops tool messages and tool calls; whale refuses them rather
    // than lose them without a word.
    if (m.role == ChatRole::kTool || !m.tool_calls.empty())
      fail(
          "messages[{}]: deepseek-v2 has no tool-call format (it renders system, user and "
          "assistant text only)",
          i);
    switch (m.role) {
      case ChatRole::kSystem:
        append(out, {m.content, "\n\n"});
        break;
      case ChatRole::kUser:
        append(out, {"User: ", m.content, "\n\n"});
        break;
      case ChatRole::kAssistant:
        append(out, {"Assistant: ", m.content, kEos});
        break;
      case ChatRole::kTool:
        break;
    }
  }
  if (request.add_generation_prompt) out += "Assistant:";
  return out;
}

// --- detection ---------------------------------------------------------------------------------

// The template text with what reformatting changes taken out: whitespace (including the raw
// newlines some copies write inside string literals), Jinja's `-` whitespace control, and the
// choice of quote.
std::string normalize_template(std::string_view jinja) {
  std::string text;
  text.reserve(jinja.size());
  for (char c : jinja) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    text += c == '"' ? '\'' : c;
  }
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "{%-") == 0 || text.compare(i, 3, "{{-") == 0) {
      out.append(text, i, 2);
      i += 3;
    } else if (text.compare(i, 3, "-%}") == 0 || text.compare(i, 3, "-}}") == 0) {
      out.append(text, i + 1, 2);
      i += 3;
    } else {
      out += text[i++];
    }
  }
  return out;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// V3-0324 layout: some expression writing `<｜User｜>` also writes `<｜Assistant｜>`.
bool user_turn_opens_assistant(std::string_view text) {
  constexpr std::string_view kQuotedUser = "'<｜User｜>'";
  for (std::size_t at = text.find(kQuotedUser); at != std::string_view::npos;
       at = text.find(kQuotedUser, at + 1)) {
    const std::size_t end = text.find("}}", at);
    if (contains(text.substr(at, end == std::string_view::npos ? end : end - at), kAssistant))
      return true;
  }
  return false;
}

}  // namespace

std::string render_chat(ChatFormatId format, const ChatRequest& request,
                        std::string_view bos_text) {
  switch (format) {
    case ChatFormatId::kDeepSeekV2:
      return render_v2(request, bos_text);
    case ChatFormatId::kDeepSeekV3:
      return render_user_assistant(kV3Style, request, bos_text);
    case ChatFormatId::kDeepSeekV3_0324:
      return render_user_assistant(kV3_0324Style, request, bos_text);
    case ChatFormatId::kDeepSeekR1:
      return render_user_assistant(kR1Style, request, bos_text);
    case ChatFormatId::kDeepSeekR1_0528:
      return render_user_assistant(kR1_0528Style, request, bos_text);
    case ChatFormatId::kDeepSeekR1Distill:
      return render_user_assistant(kR1DistillStyle, request, bos_text);
    case ChatFormatId::kDeepSeekR1Distill_2025_01:
      return render_user_assistant(kR1Distill_2025_01Style, request, bos_text);
    case ChatFormatId::kDeepSeekV3_1:
      return render_v3_1(request, bos_text);
  }
  fail("render_chat: unknown chat format id {}", static_cast<int>(format));
}

// The features, in the order they decide (each checked on normalize_template's output):
//   no <｜User｜>                          -> V2 if it writes 'User: ' and 'Assistant:'
//   <｜Assistant｜></think>                -> V3.1 (its non-thinking opener)
//   user turn writes <｜Assistant｜>       -> V3-0324, or R1-0528 when it mentions </think>
//   systems joined (system_prompt + ...)  -> V3, or R1 when it drops reasoning (</think>) and
//                                            forces <think>
//   only the last system message          -> R1-Distill when it drops reasoning; the current
//                                            revision forces <think>, the first does not
//   none of these, but the generation     -> R1-Distill: minimal copies of its template (no
//   prompt is <｜Assistant｜><think>            system or reasoning handling) render the same turns
ChatFormatId detect_chat_format(std::string_view chat_template_jinja) {
  const std::string text = normalize_template(chat_template_jinja);
  const bool drops_reasoning = contains(text, kThinkClose);
  const bool forces_think = contains(text, kThinkOpen);
  if (!contains(text, kUser)) {
    if (contains(text, "'User:'") && contains(text, "'Assistant:'"))
      return ChatFormatId::kDeepSeekV2;
  } else if (contains(text, "<｜Assistant｜></think>")) {
    return ChatFormatId::kDeepSeekV3_1;
  } else if (user_turn_opens_assistant(text)) {
    return drops_reasoning ? ChatFormatId::kDeepSeekR1_0528 : ChatFormatId::kDeepSeekV3_0324;
  } else if (contains(text, "system_prompt+")) {
    if (!drops_reasoning) return ChatFormatId::kDeepSeekV3;
    if (forces_think) return ChatFormatId::kDeepSeekR1;
  } else if (drops_reasoning) {
    return forces_think ? ChatFormatId::kDeepSeekR1Distill
                        : ChatFormatId::kDeepSeekR1Distill_2025_01;
  } else if (contains(text, "<｜Assistant｜><think>")) {
    return ChatFormatId::kDeepSeekR1Distill;
  }
  fail("chat_template: not recognised as one of the DeepSeek chat formats whale renders ({})",
       chat_format_names());
}

ChatFormatId parse_chat_format_name(std::string_view name) {
  for (const FormatName& f : kFormatNames)
    if (f.name == name) return f.id;
  fail("chat format '{}': expected one of {}", name, chat_format_names());
}

std::string_view chat_format_name(ChatFormatId format) {
  for (const FormatName& f : kFormatNames)
    if (f.id == format) return f.name;
  fail("chat_format_name: unknown chat format id {}", static_cast<int>(format));
}

std::span<const ChatFormatId> all_chat_formats() {
  return kAllFormats;
}

std::string chat_format_names() {
  std::string names;
  for (const FormatName& f : kFormatNames) {
    if (!names.empty()) names += ", ";
    names += f.name;
  }
  return names;
}

}  // namespace whale
