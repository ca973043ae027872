// whale prompt [MODEL] [--chat-format NAME]: reads a chat request body (JSON) on stdin and
// prints the exact prompt text the model sees, with no newline added.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "io/gguf.h"
#include "text/chat_format.h"
#include "text/chat_request.h"
#include "text/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale::cli {
namespace {

namespace fs = std::filesystem;

std::string read_stdin() {
  std::string text;
  char buffer[1 << 16];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, stdin)) text.append(buffer, n);
  if (std::ferror(stdin)) fail("stdin: read error");
  return text;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path.string());
  return buffer.str();
}

// What a model folder says about its chat format: its template (chat_template.jinja, which
// recent transformers versions write, else tokenizer_config.json's chat_template) and its BOS.
struct ModelChatTemplate {
  std::optional<std::string> jinja;
  std::string origin;  // where the template came from, for messages
  std::string bos_text{kDeepSeekBosText};
};

ModelChatTemplate read_model_chat_template(const std::string& model_dir) {
  ModelChatTemplate out;
  if (is_gguf_file(model_dir)) {  // a GGUF: tokenizer.chat_template and the BOS token's text
    const GgufModel gguf(model_dir);
    const GgufMetadata& m = gguf.metadata();
    if (const auto tpl = m.find_string("tokenizer.chat_template")) {
      out.jinja = std::string(*tpl);
      out.origin = model_dir + ": tokenizer.chat_template";
    }
    out.bos_text.clear();
    if (const auto bos = m.find_i64("tokenizer.ggml.bos_token_id")) {
      const auto& tokens = m.get_string_array("tokenizer.ggml.tokens");
      if (*bos < 0 || static_cast<std::size_t>(*bos) >= tokens.size())
        fail("{}: tokenizer.ggml.bos_token_id {} is not a token id", model_dir, *bos);
      out.bos_text = std::string(tokens[static_cast<std::size_t>(*bos)]);
    }
    return out;
  }
  if (!fs::is_directory(model_dir))
    fail("{}: not a folder or GGUF file (expected a model folder)", model_dir);
  const fs::path config_path = fs::path(model_dir) / "tokenizer_config.json";
  if (fs::exists(config_path)) {
    const nlohmann::json config = read_json_file(config_path.string());
    if (!config.is_object()) fail("{}: expected a JSON object", config_path.string());
    // bos_token is a string or an AddedToken object {"content": ...}.
    if (const auto bos = config.find("bos_token"); bos != config.end()) {
      if (bos->is_string()) {
        out.bos_text = bos->get<std::string>();
      } else if (bos->is_object() && bos->contains("content") && (*bos)["content"].is_string()) {
        out.bos_text = (*bos)["content"].get<std::string>();
      } else if (bos->is_null()) {
        out.bos_text.clear();
      } else {
        fail("{}: bos_token: expected a string or an object with a string \"content\", got {}",
             config_path.string(), json_type_name(*bos));
      }
    }
    if (const auto tpl = config.find("chat_template"); tpl != config.end() && !tpl->is_null()) {
      out.origin = config_path.string() + ": chat_template";
      if (tpl->is_string()) {
        out.jinja = tpl->get<std::string>();
      } else if (tpl->is_array()) {
        // Named templates [{"name": ..., "template": ...}]; the one named "default" is the chat's.
        for (const auto& named : *tpl)
          if (named.is_object() && named.value("name", "") == "default" &&
              named.contains("template") && named["template"].is_string())
            out.jinja = named["template"].get<std::string>();
        if (!out.jinja) fail("{}: has no template named \"default\"", out.origin);
      } else {
        fail("{}: expected a string, got {}", out.origin, json_type_name(*tpl));
      }
    }
  }
  const fs::path jinja_path = fs::path(model_dir) / "chat_template.jinja";
  if (fs::exists(jinja_path)) {
    out.jinja = read_text_file(jinja_path);
    out.origin = jinja_path.string();
  }
  return out;
}

}  // namespace

void register_prompt(CLI::App& app) {
  struct Options {
    std::string model;
    bool ids = false;
    std::string chat_format;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "prompt", "Render a chat request (JSON on stdin) as the exact prompt text the model sees");
  cmd->add_option("model", opt->model,
                  "Model folder; its chat template picks the format and gives the BOS text");
  cmd->add_option("--chat-format", opt->chat_format, "Chat format, one of: " + chat_format_names());
  cmd->add_flag("--ids", opt->ids,
                "Print the prompt's token ids (comma-separated) instead of its text; needs MODEL");
  cmd->callback([opt] {
    if (opt->ids && opt->model.empty())
      fail("--ids: needs a MODEL folder (its tokenizer.json turns the prompt into ids)");
    ModelChatTemplate model;
    if (!opt->model.empty()) model = read_model_chat_template(opt->model);
    ChatFormatId format{};
    if (!opt->chat_format.empty()) {
      format = parse_chat_format_name(opt->chat_format);
    } else if (model.jinja) {
      try {
        format = detect_chat_format(*model.jinja);
      } catch (const Error& e) {
        fail("{}: {}; pass --chat-format NAME", model.origin, e.what());
      }
    } else if (!opt->model.empty()) {
      fail(
          "{}: no chat template (neither chat_template.jinja nor a chat_template in "
          "tokenizer_config.json); pass --chat-format NAME, one of {}",
          opt->model, chat_format_names());
    } else {
      fail(
          "no chat format: pass --chat-format NAME (one of {}) or a MODEL folder with a chat "
          "template",
          chat_format_names());
    }
    const ChatRequest request = parse_chat_request(read_stdin(), "stdin");
    const std::string prompt = render_chat(format, request, model.bos_text);
    if (opt->ids) {
      // The rendered text already holds BOS as text; the tokenizer matches it as a token.
      const Tokenizer tokenizer =
          is_gguf_file(opt->model)
              ? Tokenizer::from_gguf(gguf_vocabulary(GgufModel(opt->model).metadata()))
              : Tokenizer::load(opt->model);
      const std::vector<std::int32_t> ids = tokenizer.encode(prompt, /*add_special=*/false);
      std::string line;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) line += ',';
        line += std::to_string(ids[i]);
      }
      line += '\n';
      if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0)
        fail("stdout: write error");
      return;
    }
    if (std::fwrite(prompt.data(), 1, prompt.size(), stdout) != prompt.size() ||
        std::fflush(stdout) != 0)
      fail("stdout: write error");
  });
}

}  // namespace whale::cli
