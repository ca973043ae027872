// Chat formats against the reference renders in tests/data/chat-templates (copied from the
// project's chat-template fixtures: official DeepSeek templates run by Jinja2, see its README).
#include "text/chat_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "text/chat_request.h"
#include "util/error.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

const fs::path kData = fs::path(WHALE_TEST_DATA) / "chat-templates";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<Json> load_cases(const char* file = "cases.jsonl") {
  std::vector<Json> cases;
  std::ifstream in(kData / file, std::ios::binary);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) cases.push_back(Json::parse(line));
  return cases;
}

// RENDERED.md's `text` blocks by case name: the lines strictly between the opening fence line
// and the closing fence, joined by "\n", no final newline (its README's extraction rule).
std::map<std::string, std::string> renders_from_markdown() {
  std::map<std::string, std::string> renders;
  std::istringstream in(read_file(kData / "RENDERED.md"));
  std::string name, line;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) {
      name = line.substr(3, line.find(" (") - 3);
    } else if (line.starts_with("```") && line.ends_with("text") && !name.empty()) {
      const std::string fence = line.substr(0, line.size() - 4);
      std::string render;
      bool first = true;
      while (std::getline(in, line) && line != fence) {
        if (!first) render += '\n';
        render += line;
        first = false;
      }
      renders[name] = render;
    }
  }
  return renders;
}

std::string render_json(ChatFormatId format, const char* request_json) {
  return render_chat(format, parse_chat_request(request_json, "test"));
}

std::string error_of(auto&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChatFormat, EveryReferenceCaseRendersByteExact) {
  const std::vector<Json> cases = load_cases();
  ASSERT_EQ(cases.size(), 29u);
  int matching = 0;
  for (const Json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const ChatFormatId format = parse_chat_format_name(c["format"].get<std::string>());
    const std::string rendered = render_chat(format, chat_request_from_json(c["request"]));
    const std::string expected = c["rendered"].get<std::string>();
    EXPECT_EQ(rendered, expected);
    EXPECT_EQ(rendered.size(), c["bytes"].get<std::size_t>());
    matching += rendered == expected;
  }
  EXPECT_EQ(matching, 29);
}

// Random requests rendered by Jinja2 with the (patched) templates: scripts/crosscheck-chat-formats.
TEST(ChatFormat, EveryCrosscheckCaseRendersByteExact) {
  const std::vector<Json> cases = load_cases("crosscheck.jsonl");
  ASSERT_EQ(cases.size(), 96u);
  for (const Json& c : cases) {
    const ChatFormatId format = parse_chat_format_name(c["format"].get<std::string>());
    EXPECT_EQ(render_chat(format, chat_request_from_json(c["request"])),
              c["rendered"].get<std::string>())
        << c["name"].get<std::string>();
  }
}

TEST(ChatFormat, RenderedMarkdownAgreesWithCases) {
  const std::map<std::string, std::string> renders = renders_from_markdown();
  const std::vector<Json> cases = load_cases();
  ASSERT_EQ(renders.size(), cases.size());
  for (const Json& c : cases) {
    const std::string name = c["name"].get<std::string>();
    ASSERT_TRUE(renders.contains(name)) << name;
    EXPECT_EQ(renders.at(name), c["rendered"].get<std::string>()) << name;
  }
}

TEST(ChatFormat, DetectsEveryTemplateFile) {
  int files = 0;
  for (const fs::path& dir : {kData / "templates", kData / "templates" / "fixed"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".jinja") continue;
      SCOPED_TRACE(entry.path().string());
      // Template files are named after their format.
      const ChatFormatId expected = parse_chat_format_name(entry.path().stem().string());
      EXPECT_EQ(detect_chat_format(read_file(entry.path())), expected);
      ++files;
    }
  }
  EXPECT_EQ(files, 11);
}

// Copies reformatted the way llama.cpp, vLLM and tokenizer_config.json escapes do.
TEST(ChatFormat, DetectsReformattedCopies) {
  auto replace_all = [](std::string_view text, std::string_view from, std::string_view to) {
    std::string out;
    std::size_t start = 0;
    for (std::size_t at = text.find(from); at != std::string_view::npos;
         at = text.find(from, start)) {
      out.append(text.substr(start, at - start));
      out.append(to);
      start = at + from.size();
    }
    out.append(text.substr(start));
    return out;
  };
  for (const ChatFormatId format : all_chat_formats()) {
    fs::path file = kData / "templates" / chat_format_name(format);
    file += ".jinja";
    SCOPED_TRACE(file.string());
    const std::string original = read_file(file);
    EXPECT_EQ(detect_chat_format(replace_all(original, "'", "\"")), format);
    EXPECT_EQ(detect_chat_format(replace_all(replace_all(original, "{%-", "{%"), "{%", "{%- ")),
              format);
    EXPECT_EQ(detect_chat_format(replace_all(replace_all(original, "%}", "%}\n"), "\\n", "\n")),
              format);
    EXPECT_EQ(detect_chat_format(replace_all(original, "{{", "{{ ")), format);
  }
}

TEST(ChatFormat, MinimalR1DistillTemplateIsDetected) {
  // The cut-down template of tests/data/golden-dense: no system or reasoning handling, but the
  // R1-Distill turns and its forced "<think>\n".
  const std::string jinja =
      "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
      "{{ '<｜User｜>' + message['content'] }}{% elif message['role'] == 'assistant' %}"
      "{{ '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}{% endif %}"
      "{% endfor %}{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}";
  EXPECT_EQ(detect_chat_format(jinja), ChatFormatId::kDeepSeekR1Distill);
}

TEST(ChatFormat, UnknownTemplateFailsListingTheNames) {
  const std::string chatml =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
      "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
  for (const std::string& jinja : {chatml, std::string(), std::string("{{ messages }}")}) {
    const std::string error = error_of([&] { detect_chat_format(jinja); });
    EXPECT_NE(error.find("chat_template: not recognised"), std::string::npos) << error;
    for (const ChatFormatId format : all_chat_formats())
      EXPECT_NE(error.find(chat_format_name(format)), std::string::npos) << error;
  }
}

TEST(ChatFormat, NamesRoundTripAndUnknownNamesFail) {
  EXPECT_EQ(all_chat_formats().size(), 8u);
  for (const ChatFormatId format : all_chat_formats())
    EXPECT_EQ(parse_chat_format_name(chat_format_name(format)), format);
  EXPECT_EQ(parse_chat_format_name("deepseek-v3.1"), ChatFormatId::kDeepSeekV3_1);
  const std::string error = error_of([] { parse_chat_format_name("chatml"); });
  EXPECT_EQ(error, "chat format 'chatml': expected one of " + chat_format_names());
  EXPECT_NE(error.find("deepseek-v3-0324"), std::string::npos);
}

TEST(ChatFormat, BosTextIsTheCallers) {
  const char* request = R"({"messages": [{"role": "user", "content": "Hi"}]})";
  const ChatRequest r = parse_chat_request(request, "test");
  EXPECT_EQ(render_chat(ChatFormatId::kDeepSeekV3, r, ""), "<｜User｜>Hi<｜Assistant｜>");
  EXPECT_EQ(render_chat(ChatFormatId::kDeepSeekV3, r, "[BOS]"), "[BOS]<｜User｜>Hi<｜Assistant｜>");
}

TEST(ChatFormat, GenerationPromptIsOnByDefault) {
  const ChatRequest r = parse_chat_request(R"({"messages":[{"role":"user","content":"Hi"}]})", "t");
  EXPECT_TRUE(r.add_generation_prompt);
  EXPECT_EQ(render_chat(ChatFormatId::kDeepSeekR1, r),
            "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n");
}

TEST(ChatFormat, DeepSeekV2PlainTurns) {
  const char* request = R"({"messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi"},
      {"role": "assistant", "content": "Hello."},
      {"role": "user", "content": "Bye"}]})";
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekV2, request),
            "<｜begin▁of▁sentence｜>Be brief.\n\nUser: Hi\n\nAssistant: "
            "Hello.<｜end▁of▁sentence｜>User: Bye\n\nAssistant:");
  const char* tool = R"({"messages": [{"role": "user", "content": "Hi"},
      {"role": "tool", "content": "42"}]})";
  EXPECT_EQ(error_of([&] { render_json(ChatFormatId::kDeepSeekV2, tool); }),
            "messages[1]: deepseek-v2 has no tool-call format (it renders system, user and "
            "assistant text only)");
}

TEST(ChatFormat, R1DistillKeepsOnlyTheLastSystemMessage) {
  const char* request = R"({"messages": [
      {"role": "system", "content": "First."},
      {"role": "user", "content": "Q1"},
      {"role": "assistant", "content": "<think>\nhm\n</think>\n\nA1"},
      {"role": "system", "content": "Second."},
      {"role": "user", "content": "Q2"}]})";
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekR1Distill, request),
            "<｜begin▁of▁sentence｜>Second.<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜>"
            "<｜User｜>Q2<｜Assistant｜><think>\n");
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekR1Distill_2025_01, request),
            "<｜begin▁of▁sentence｜>Second.<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜>"
            "<｜User｜>Q2<｜Assistant｜>");
}

// SOURCES.md bugs 1 and 2: DeepSeek-V3's template closes tool calls only between calls and
// drops the calls of a message that has content; whale closes once and keeps both (as R1).
TEST(ChatFormat, V3ClosesToolCallsOnceAndKeepsContentWithCalls) {
  const char* request = R"({"messages": [
      {"role": "user", "content": "Q"},
      {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{\"x\": 1}"}},
        {"id": "c", "type": "function", "function": {"name": "h", "arguments": "[]"}}]}],
      "add_generation_prompt": false})";
  EXPECT_EQ(
      render_json(ChatFormatId::kDeepSeekV3, request),
      "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜>Checking.<｜tool▁calls▁begin｜>"
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```<｜tool▁call▁end｜>\n"
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>g\n```json\n{\"x\": 1}\n```<｜tool▁call▁end｜>\n"
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>h\n```json\n[]\n```<｜tool▁call▁end｜>"
      "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>");
}

// SOURCES.md bug 3: V3, R1 and R1-Distill never reset their first-call / first-output flags, so
// a second tool round lost its opening tokens; whale opens every round in full.
TEST(ChatFormat, SecondToolRoundOpensInFull) {
  const char* request = R"({"messages": [
      {"role": "user", "content": "Rome?"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "w", "arguments": "{\"c\": \"Rome\"}"}}]},
      {"role": "tool", "tool_call_id": "1", "content": "21"},
      {"role": "assistant", "content": "21 C."},
      {"role": "user", "content": "Oslo?"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "2", "type": "function", "function": {"name": "w", "arguments": "{\"c\": \"Oslo\"}"}}]},
      {"role": "tool", "tool_call_id": "2", "content": "-3"},
      {"role": "tool", "tool_call_id": "2", "content": "snow"}]})";
  const std::string round1 =
      "<｜User｜>Rome?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
      "<｜tool▁sep｜>w\n```json\n{\"c\": \"Rome\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
      "<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>21<｜tool▁output▁end｜>"
      "<｜tool▁outputs▁end｜>21 C.<｜end▁of▁sentence｜>";
  const std::string round2_calls =
      "<｜User｜>Oslo?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
      "<｜tool▁sep｜>w\n```json\n{\"c\": \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
      "<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>-3<｜tool▁output▁end｜>";
  const std::string tail = "<｜tool▁output▁begin｜>snow<｜tool▁output▁end｜><｜tool▁outputs▁end｜>";
  const std::string bos(kDeepSeekBosText);
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekV3, request),
            bos + round1 + round2_calls + "\n" + tail);
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekR1Distill, request),
            bos + round1 + round2_calls + "\n" + tail);
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekR1, request), bos + round1 + round2_calls + tail);
}

// V3-0324's layout closes tool outputs before a tool-call turn that follows them; R1-0528 also
// drops the reasoning of every assistant message there.
TEST(ChatFormat, ToolCallTurnAfterToolOutputs) {
  const char* request = R"({"messages": [
      {"role": "user", "content": "Q"},
      {"role": "assistant", "content": "<think>a</think>A", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "content": "1"},
      {"role": "assistant", "content": "<think>b</think>B", "tool_calls": [
        {"id": "2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
      {"role": "tool", "content": "2"},
      {"role": "assistant", "content": "<think>c</think>C"}], "add_generation_prompt": true})";
  auto calls = [](const char* name) {
    return std::string("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>") + name +
           "\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>";
  };
  auto output = [](const char* text) {
    return std::string("<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>") + text +
           "<｜tool▁output▁end｜>";
  };
  const std::string bos(kDeepSeekBosText);
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekR1_0528, request),
            bos + "<｜User｜>Q<｜Assistant｜>A" + calls("f") + output("1") +
                "<｜tool▁outputs▁end｜>B" + calls("g") + output("2") +
                "<｜tool▁outputs▁end｜>C<｜end▁of▁sentence｜><｜Assistant｜>");
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekV3_0324, request),
            bos + "<｜User｜>Q<｜Assistant｜><think>a</think>A" + calls("f") + output("1") +
                "<｜tool▁outputs▁end｜><think>b</think>B" + calls("g") + output("2") +
                "<｜tool▁outputs▁end｜><think>c</think>C<｜end▁of▁sentence｜><｜Assistant｜>");
  // R1 keeps reasoning in tool-call turns and in answers to tool outputs (as its template does).
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekR1, request),
            bos + "<｜User｜>Q<｜Assistant｜><think>a</think>A" + calls("f") + output("1") +
                "<｜Assistant｜><think>b</think>B" + calls("g") + output("2") +
                "<｜tool▁outputs▁end｜><think>c</think>C<｜end▁of▁sentence｜>"
                "<｜Assistant｜><think>\n");
}

TEST(ChatFormat, V31ThinkingSwitchAndNullContent) {
  const char* request = R"({"messages": [
      {"role": "user", "content": "Q"},
      {"role": "assistant", "content": null},
      {"role": "user", "content": "R"}], "thinking": false})";
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekV3_1, request),
            "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜></think><｜end▁of▁sentence｜>"
            "<｜User｜>R<｜Assistant｜></think>");
  const char* absent = R"({"messages": [{"role": "user", "content": "Q"}]})";
  EXPECT_EQ(render_json(ChatFormatId::kDeepSeekV3_1, absent),
            "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜></think>");
}

TEST(ChatRequest, ReadsTheOpenAiShape) {
  const ChatRequest r = parse_chat_request(R"({
      "model": "deepseek-chat", "temperature": 0.7, "stream": true,
      "messages": [
        {"role": "system", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "kind."}]},
        {"role": "user", "content": "Weather?", "name": "ana"},
        {"role": "assistant", "content": null, "reasoning_content": "Need a tool.", "tool_calls": [
          {"id": "c1", "type": "function",
           "function": {"name": "w", "arguments": {"z": 1, "a": [true, null]}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "Sunny.", "prefix": true}],
      "tools": [{"type": "function", "function": {"name": "w"}}],
      "thinking": true, "add_generation_prompt": false})",
                                           "test");
  ASSERT_EQ(r.messages.size(), 5u);
  EXPECT_EQ(r.messages[0].role, ChatRole::kSystem);
  EXPECT_EQ(r.messages[0].content, "Be kind.");
  EXPECT_EQ(r.messages[2].role, ChatRole::kAssistant);
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_EQ(r.messages[2].reasoning_content, "Need a tool.");
  ASSERT_EQ(r.messages[2].tool_calls.size(), 1u);
  EXPECT_EQ(r.messages[2].tool_calls[0].id, "c1");
  EXPECT_EQ(r.messages[2].tool_calls[0].name, "w");
  EXPECT_EQ(r.messages[2].tool_calls[0].arguments, R"({"z":1,"a":[true,null]})");
  EXPECT_EQ(r.messages[3].role, ChatRole::kTool);
  EXPECT_EQ(r.messages[3].tool_call_id, "c1");
  EXPECT_TRUE(r.messages[4].prefix);
  EXPECT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.thinking, true);
  EXPECT_FALSE(r.add_generation_prompt);
}

TEST(ChatRequest, ErrorsNameTheFieldPath) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"([1, 2])", "request: expected a JSON object, got an array"},
      {R"({})", "messages: missing (expected an array of messages)"},
      {R"({"messages": "hi"})", "messages: expected a non-empty array, got a string"},
      {R"({"messages": []})", "messages: expected a non-empty array, got an empty array"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                        {"role": "bot", "content": "c"}]})",
       R"(messages[2].role: expected one of system, user, assistant, tool, got "bot")"},
      {R"({"messages": [{"content": "a"}]})",
       "messages[0].role: missing (expected one of system, user, assistant, tool)"},
      {R"({"messages": [7]})", "messages[0]: expected an object, got an integer"},
      {R"({"messages": [{"role": "user", "content": 42}]})",
       "messages[0].content: expected a string or an array of text parts, got an integer"},
      {R"({"messages": [{"role": "user"}]})",
       "messages[0].content: expected a string or an array of text parts, got nothing"},
      {R"({"messages": [{"role": "tool", "content": null}]})",
       "messages[0].content: expected a string or an array of text parts, got null"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                        {"type": "image_url", "image_url": {"url": "x"}}]}]})",
       R"(messages[0].content[1].type: expected "text" (whale's DeepSeek formats take text only), got "image_url")"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]})",
       "messages[0].content[0].text: expected a string, got an integer"},
      {R"({"messages": [{"role": "user", "content": "a", "tool_calls": []}]})",
       "messages[0].tool_calls: only assistant messages carry tool calls"},
      {R"({"messages": [{"role": "assistant", "tool_calls": {}}]})",
       "messages[0].tool_calls: expected an array, got an object"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"type": "function"}]}]})",
       "messages[0].tool_calls[0].function: expected an object with name and arguments, got "
       "nothing"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"type": "retrieval",
                        "function": {"name": "f", "arguments": "{}"}}]}]})",
       R"(messages[0].tool_calls[0].type: expected "function", got "retrieval")"},
      {R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
           {"function": {"name": "f", "arguments": "{}"}},
           {"function": {"name": 5, "arguments": "{}"}}]}]})",
       "messages[1].tool_calls[1].function.name: expected a non-empty string, got 5"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}]})",
       "messages[0].tool_calls[0].function.arguments: missing (expected a JSON string)"},
      {R"({"messages": [{"role": "assistant", "content": "a", "reasoning_content": 1}]})",
       "messages[0].reasoning_content: expected a string, got an integer"},
      {R"({"messages": [{"role": "tool", "content": "a", "tool_call_id": 1}]})",
       "messages[0].tool_call_id: expected a string, got an integer"},
      {R"({"messages": [{"role": "assistant", "content": "a", "prefix": "yes"}]})",
       "messages[0].prefix: expected a boolean (true or false), got a string"},
      {R"({"messages": [{"role": "user", "content": "a"}], "thinking": "false"})",
       "thinking: expected a boolean (true or false), got a string"},
      {R"({"messages": [{"role": "user", "content": "a"}], "add_generation_prompt": 1})",
       "add_generation_prompt: expected a boolean (true or false), got an integer"},
      {R"({"messages": [{"role": "user", "content": "a"}], "tools": {}})",
       "tools: expected an array, got an object"},
      {R"({"messages": [{"role": "user", "content": "a"}], "tools": [{}, "f"]})",
       "tools[1]: expected an object, got a string"},
  };
  for (const auto& [json, expected] : cases) {
    const char* body = json;  // lambdas cannot capture structured bindings before clang 16
    EXPECT_EQ(error_of([body] { parse_chat_request(body, "test"); }), expected) << json;
  }
}

TEST(ChatRequest, MalformedJsonNamesItsOrigin) {
  const std::string error = error_of([] { parse_chat_request(R"({"messages": [)", "stdin"); });
  EXPECT_TRUE(error.starts_with("stdin: malformed JSON: ")) << error;
  const std::string invalid_utf8 = "{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}";
  EXPECT_TRUE(error_of([&] {
                parse_chat_request(invalid_utf8, "stdin");
              }).starts_with("stdin: malformed JSON: "));
}

}  // namespace
}  // namespace whale
