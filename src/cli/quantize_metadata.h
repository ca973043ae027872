// The metadata `whale quantize` writes into a GGUF, as llama.cpp's convert_hf_to_gguf.py and
// gguf-py write it from a Hugging Face folder: general.* (with generation_config.json's sampling
// defaults), the architecture's hyperparameters (deepseek2, qwen2, llama), and the gpt2
// tokenizer (tokenizer.json + tokenizer_config.json, as gguf-py's SpecialVocab reads them).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/deepseek_config.h"
#include "io/dense_config.h"
#include "io/gguf_writer.h"
#include "model/gguf_names.h"

namespace whale::cli {

struct GgufTokenizer {
  std::string pre;                  // tokenizer.ggml.pre, named from the Split regexes
  std::vector<std::string> tokens;  // by id; gaps up to vocab_size are [PADn]
  std::vector<std::int32_t> types;  // llama.cpp token types: 1 normal, 3 control, ...
  std::vector<std::string> merges;  // "a b"
  std::vector<std::pair<std::string, std::uint32_t>> ids;  // "tokenizer.ggml.X_token_id", id
  std::vector<std::pair<std::string, bool>> adds;          // "tokenizer.ggml.add_X_token"
  std::optional<std::string> chat_template;
};

// `folder`'s tokenizer.json and tokenizer_config.json (and config.json content `config` for
// special ids it lacks). Throws whale::Error naming the file: missing tokenizer.json, a
// pre-tokenizer whale does not know, malformed merges.
GgufTokenizer read_gguf_tokenizer(const std::string& folder, std::int64_t vocab_size,
                                  const nlohmann::json& config);
void set_gguf_tokenizer(GgufWriter& w, const GgufTokenizer& t);

// DeepseekV2Model's keys (`raw`: config.json content, for fields the converter writes only
// when present).
void set_deepseek_metadata(GgufWriter& w, const std::string& folder, const nlohmann::json& raw,
                           const DeepSeekConfig& c, std::uint32_t file_type);
// Qwen2Model's / LlamaModel's keys; `arch` is kQwen2 or kLlama.
void set_dense_metadata(GgufWriter& w, GgufArch arch, const std::string& folder,
                        const nlohmann::json& raw, const DenseConfig& c, std::uint32_t file_type);

}  // namespace whale::cli
