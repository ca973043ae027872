#include "io/dense_config.h"

#include <fmt/format.h>

#include "io/config_fields.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale {

using config_fields::FieldReader;
using config_fields::kMaxCount;
using config_fields::kMaxPosition;

namespace {

struct Defaults {
  std::int64_t vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
      max_position_embeddings;
  std::optional<std::int64_t> bos, eos;
};

// transformers' Qwen2Config and LlamaConfig constructor defaults.
constexpr Defaults kQwen2Defaults{151936, 4096, 22016, 32, 32, 32768, std::nullopt, std::nullopt};
constexpr Defaults kLlamaDefaults{32000, 4096, 11008, 32, 32, 2048, 1, 2};

}  // namespace

bool is_dense_model_type(const std::string& model_type) {
  return model_type == "qwen2" || model_type == "llama";
}

std::string DenseConfig::describe() const {
  std::string biases = qkv_bias && o_bias ? "q/k/v/o bias" : qkv_bias ? "q/k/v bias" : "no bias";
  std::string rope = rope_scaling ? fmt::format(", llama3 RoPE x{}", rope_scaling->factor) : "";
  return fmt::format("{} (GQA {}/{} heads of {}, {}{})", model_type, num_attention_heads,
                     num_key_value_heads, head_dim, biases, rope);
}

DenseConfig parse_dense_config(const nlohmann::json& json, const std::string& file) {
  if (!json.is_object()) fail("{}: expected a JSON object, got {}", file, json_type_name(json));
  const FieldReader r(json, file, "");
  DenseConfig c;
  c.model_type = r.string("model_type", "");
  const Defaults* d = nullptr;
  if (c.model_type == "qwen2")
    d = &kQwen2Defaults;
  else if (c.model_type == "llama")
    d = &kLlamaDefaults;
  else
    fail("{}: field 'model_type' is '{}', expected qwen2 or llama for a dense model", file,
         c.model_type);

  if (const auto* a = r.find("architectures")) {
    if (!a->is_array()) r.wrong("architectures", "an array of strings", *a);
    for (const auto& s : *a) {
      if (!s.is_string()) r.wrong("architectures", "an array of strings", *a);
      c.architectures.push_back(s.get<std::string>());
    }
  }
  c.vocab_size = r.integer("vocab_size", d->vocab_size, 1);
  c.hidden_size = r.integer("hidden_size", d->hidden_size, 1);
  c.intermediate_size = r.integer("intermediate_size", d->intermediate_size, 1);
  c.num_hidden_layers = r.integer("num_hidden_layers", d->num_hidden_layers, 1, kMaxCount);
  c.num_attention_heads = r.integer("num_attention_heads", d->num_attention_heads, 1, kMaxCount);
  c.num_key_value_heads =
      r.optional_integer("num_key_value_heads", c.num_attention_heads, 1, kMaxCount)
          .value_or(c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail(
        "{}: field 'num_key_value_heads' ({}) must divide num_attention_heads ({}) for "
        "grouped-query attention",
        file, c.num_key_value_heads, c.num_attention_heads);
  if (const auto head_dim = r.optional_integer("head_dim", std::nullopt, 2)) {
    c.head_dim = *head_dim;
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      fail(
          "{}: field 'hidden_size' ({}) is not a multiple of num_attention_heads ({}) and no "
          "head_dim is given",
          file, c.hidden_size, c.num_attention_heads);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0)
    fail("{}: field 'head_dim' must be even (RoPE rotates pairs), got {}", file, c.head_dim);

  const std::string act = r.string("hidden_act", "silu");
  if (act != "silu")
    fail("{}: field 'hidden_act' is '{}', but whale runs SwiGLU MLPs ('silu')", file, act);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  if (c.rms_norm_eps <= 0) fail("{}: field 'rms_norm_eps' must be positive", file);
  c.max_position_embeddings =
      r.integer("max_position_embeddings", d->max_position_embeddings, 1, kMaxPosition);
  c.rope_theta = r.number("rope_theta", 10000.0);
  if (c.rope_theta <= 1.0) fail("{}: field 'rope_theta' must be greater than 1", file);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.torch_dtype = r.string("torch_dtype", "bfloat16");
  c.bos_token_id = r.optional_integer("bos_token_id", d->bos, 0, kMaxPosition);
  if (const auto* e = r.find("eos_token_id"); e != nullptr && !e->is_null()) {
    if (e->is_array()) {
      for (std::size_t i = 0; i < e->size(); ++i) {
        const auto& v = (*e)[i];
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
            v.get<std::int64_t>() > kMaxPosition)
          r.wrong("eos_token_id", "a token id or a list of token ids", *e);
        c.eos_token_ids.push_back(v.get<std::int64_t>());
      }
    } else {
      c.eos_token_ids.push_back(*r.optional_integer("eos_token_id", std::nullopt, 0, kMaxPosition));
    }
  } else if (e == nullptr && d->eos) {
    c.eos_token_ids.push_back(*d->eos);
  }

  if (c.model_type == "qwen2") {
    // Qwen2Attention: q/k/v projections with bias, o_proj without.
    c.qkv_bias = true;
    c.o_bias = false;
    if (r.boolean("use_sliding_window", false))
      fail(
          "{}: field 'use_sliding_window' is true; whale runs full causal attention only "
          "(sliding-window Qwen2 models are not supported)",
          file);
    if (r.boolean("use_mrope", false))
      fail("{}: field 'use_mrope' is true; multimodal RoPE (Qwen2-VL) is not supported", file);
  } else {
    c.qkv_bias = c.o_bias = r.boolean("attention_bias", false);
    if (r.boolean("mlp_bias", false))
      fail("{}: field 'mlp_bias' is true; whale runs bias-free SwiGLU MLPs", file);
  }

  if (const auto* rs = r.find("rope_scaling"); rs != nullptr && !rs->is_null()) {
    if (!rs->is_object()) r.wrong("rope_scaling", "an object or null", *rs);
    const FieldReader s(*rs, file, "rope_scaling.");
    std::string type = s.string("rope_type", "");
    if (type.empty()) type = s.string("type", "");
    if (type == "llama3") {
      Llama3RopeScaling l;
      l.factor = s.number("factor", 0.0);
      if (l.factor < 1.0) fail("{}: field 'rope_scaling.factor' must be at least 1", file);
      l.low_freq_factor = s.number("low_freq_factor", 0.0);
      l.high_freq_factor = s.number("high_freq_factor", 0.0);
      if (l.low_freq_factor <= 0 || l.high_freq_factor <= l.low_freq_factor)
        fail(
            "{}: fields 'rope_scaling.low_freq_factor' ({}) and 'high_freq_factor' ({}) must "
            "satisfy 0 < low < high",
            file, l.low_freq_factor, l.high_freq_factor);
      l.original_max_position_embeddings =
          s.integer("original_max_position_embeddings", 0, 1, kMaxPosition);
      if (s.find("original_max_position_embeddings") == nullptr)
        fail("{}: field 'rope_scaling.original_max_position_embeddings' is missing", file);
      c.rope_scaling = l;
    } else if (type != "default") {
      fail(
          "{}: field 'rope_scaling.rope_type' is '{}'; whale supports 'llama3' (or null) for {} "
          "models",
          file, type, c.model_type);
    }
  }
  return c;
}

DenseConfig load_dense_config(const std::string& path) {
  return parse_dense_config(read_json_file(path), path);
}

nlohmann::json dense_config_to_json(const DenseConfig& c) {
  const bool qwen2 = c.model_type == "qwen2";
  nlohmann::json j;
  j["architectures"] =
      c.architectures.empty()
          ? std::vector<std::string>{qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}
          : c.architectures;
  j["attention_dropout"] = 0.0;
  j["bos_token_id"] = c.bos_token_id ? nlohmann::json(*c.bos_token_id) : nlohmann::json(nullptr);
  if (c.eos_token_ids.size() == 1)
    j["eos_token_id"] = c.eos_token_ids[0];
  else if (c.eos_token_ids.empty())
    j["eos_token_id"] = nullptr;
  else
    j["eos_token_id"] = c.eos_token_ids;
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["model_type"] = c.model_type;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_key_value_heads;
  if (c.head_dim * c.num_attention_heads != c.hidden_size) j["head_dim"] = c.head_dim;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling) {
    j["rope_scaling"] = {
        {"factor", c.rope_scaling->factor},
        {"high_freq_factor", c.rope_scaling->high_freq_factor},
        {"low_freq_factor", c.rope_scaling->low_freq_factor},
        {"original_max_position_embeddings", c.rope_scaling->original_max_position_embeddings},
        {"rope_type", "llama3"}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  if (qwen2) {
    j["max_window_layers"] = c.num_hidden_layers;
    j["sliding_window"] = 4096;
    j["use_sliding_window"] = false;
    j["use_mrope"] = false;
  } else {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = false;
    j["pretraining_tp"] = 1;
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype.empty() ? "bfloat16" : c.torch_dtype;
  j["transformers_version"] = "4.44.0";
  j["use_cache"] = true;
  j["vocab_size"] = c.vocab_size;
  return j;
}

}  // namespace whale
