#include "cli/text_model.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "assets/embedded.h"
#include "cli/commands.h"
#include "hub/local_models.h"
#include "io/gguf.h"
#include "model/load.h"
#include "model/random_checkpoint.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/thread_pool.h"

namespace whale::cli {

namespace fs = std::filesystem;

std::string models_dir() {
  return hub::default_models_dir();
}

namespace {

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail("{}: cannot write", path.string());
}

std::string token_string(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"];
  return "";
}

}  // namespace

std::string ensure_demo_model(ThreadPool& pool) {
  const fs::path dir = fs::path(models_dir()) / "whale-demo";
  const fs::path done = dir / ".complete";
  std::error_code ec;
  if (fs::exists(done, ec)) return dir.string();
  std::fprintf(stderr, "whale: making the demo model in %s (random weights, made once)...\n",
               dir.c_str());
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the models folder: {}", dir.string(), ec.message());
  RandomCheckpointOptions options;
  options.format = WeightFormat::kBF16;
  options.seed = 2024;
  options.overwrite = true;
  write_random_checkpoint(dir.string(), config_for_format(model_shape("demo"), options.format),
                          options, pool);
  write_file(dir / "tokenizer.json", assets::deepseek_v3_tokenizer_json());
  write_file(dir / "tokenizer_config.json", assets::deepseek_v3_tokenizer_config_json());
  write_file(done, "demo model complete\n");
  return dir.string();
}

TextModel open_text_model(const std::string& path, const std::string& chat_format,
                          ThreadPool& pool) {
  TextModel t;
  t.demo = path.empty();
  t.path = t.demo ? ensure_demo_model(pool) : path;
  t.model = load_model(t.path);
  prefault_weights(*t.model, t.path);
  nlohmann::json config = nlohmann::json::object();
  std::string chat_template;
  if (is_gguf_file(t.path)) {
    // A GGUF carries its tokenizer and chat template in its metadata.
    const GgufModel gguf(t.path);
    t.tokenizer = Tokenizer::from_gguf(gguf_vocabulary(gguf.metadata()));
    chat_template =
        std::string(gguf.metadata().find_string("tokenizer.chat_template").value_or(""));
  } else {
    t.tokenizer = Tokenizer::load(t.path);
    const fs::path config_path = fs::path(t.path) / "tokenizer_config.json";
    std::error_code ec;
    if (fs::is_regular_file(config_path, ec)) config = read_json_file(config_path.string());
  }
  if (!chat_format.empty()) {
    t.format = parse_chat_format_name(chat_format);
  } else {
    if (config.contains("chat_template")) {
      const auto& ct = config["chat_template"];
      if (ct.is_string()) {
        chat_template = ct.get<std::string>();
      } else if (ct.is_array()) {  // [{name: "default", template: ...}, ...]
        for (const auto& e : ct)
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
              e["template"].is_string())
            chat_template = e["template"].get<std::string>();
      }
    }
    if (chat_template.empty())
      fail("{}: {} has no chat template; pass --chat-format (one of {})", t.path,
           is_gguf_file(t.path) ? "the GGUF metadata (tokenizer.chat_template)"
                                : "tokenizer_config.json",
           chat_format_names());
    t.format = detect_chat_format(chat_template);
  }
  t.bos_text = config.contains("bos_token") ? token_string(config["bos_token"]) : "";
  if (t.bos_text.empty() && t.tokenizer->bos_id())
    t.bos_text = std::string(t.tokenizer->token_text(*t.tokenizer->bos_id()));
  return t;
}

}  // namespace whale::cli
