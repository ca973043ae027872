// config.json of a dense Qwen2 or Llama checkpoint (the DeepSeek-R1-Distill models) as a typed,
// validated value. Defaults are those of transformers' Qwen2Config / LlamaConfig.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace whale {

// rope_scaling of type "llama3" (Llama 3.1; transformers' _compute_llama3_parameters).
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  std::int64_t original_max_position_embeddings = 8192;
};

struct DenseConfig {
  std::string model_type;  // qwen2 | llama
  std::vector<std::string> architectures;
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;  // config head_dim, else hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<Llama3RopeScaling> rope_scaling;
  std::int64_t max_position_embeddings = 0;
  bool qkv_bias = false;  // Qwen2: always; Llama: attention_bias
  bool o_bias = false;    // Llama: attention_bias; Qwen2: never
  bool tie_word_embeddings = false;
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;  // Llama 3.1 lists several
  std::string torch_dtype;

  std::int64_t q_width() const { return num_attention_heads * head_dim; }
  std::int64_t kv_width() const { return num_key_value_heads * head_dim; }
  // Cached values per token per layer: one key and one value row per KV head.
  std::int64_t cache_width() const { return 2 * kv_width(); }
  std::string describe() const;  // "qwen2 (GQA 8/2, q/k/v bias)"
};

// True for the model_type values parse_dense_config accepts.
bool is_dense_model_type(const std::string& model_type);

// Parses config.json content; `file` names it in errors. Throws whale::Error naming the field
// and what was expected: wrong types, out-of-range values, heads that do not divide,
// rope_scaling types other than llama3, use_sliding_window true, biases whale does not run.
DenseConfig parse_dense_config(const nlohmann::json& json, const std::string& file);

// Reads and parses `path`.
DenseConfig load_dense_config(const std::string& path);

// The inverse, for make-model: the fields a released config.json carries.
nlohmann::json dense_config_to_json(const DenseConfig& config);

}  // namespace whale
