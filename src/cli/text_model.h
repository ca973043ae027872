// A model with the text side it needs for chat: its tokenizer and chat format. Without a
// path, the demo model (random weights, the real DeepSeek-V3 tokenizer and chat template) is
// made on first use, so a new user's first command does something real offline.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "model/model.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace whale {
class ThreadPool;
}

namespace whale::cli {

struct TextModel {
  std::string path;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
  ChatFormatId format = ChatFormatId::kDeepSeekV3;
  std::string bos_text;  // what the template writes as BOS
  bool demo = false;
};

// The folder whale keeps models in (hub/local_models.h: --models-dir aside, $WHALE_MODELS, else
// ${XDG_CACHE_HOME:-~/.cache}/whale/models).
std::string models_dir();

// Makes the demo model in models_dir()/whale-demo unless it is already complete; returns its path.
std::string ensure_demo_model(ThreadPool& pool);

// Opens `path` (empty: the demo model). `chat_format`, when not empty, overrides the format
// recognised from tokenizer_config.json's chat_template.
TextModel open_text_model(const std::string& path, const std::string& chat_format, ThreadPool& pool);

// The command that gets a real model, for messages.
inline constexpr const char* kPullHint = "whale pull deepseek-ai/DeepSeek-V2-Lite-Chat";

}  // namespace whale::cli
