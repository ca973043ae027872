#include "io/deepseek_config.h"

#include <cmath>
#include <limits>
#include <fmt/format.h>

#include "util/error.h"
#include "util/json_file.h"
#include "io/config_fields.h"

namespace whale {

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

double DeepSeekConfig::softmax_scale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  if (rope_scaling && rope_scaling->mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(rope_scaling->factor, rope_scaling->mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

double DeepSeekConfig::rope_magnitude() const {
  if (!rope_scaling) return 1.0;
  return yarn_get_mscale(rope_scaling->factor, rope_scaling->mscale) /
         yarn_get_mscale(rope_scaling->factor, rope_scaling->mscale_all_dim);
}

std::string DeepSeekConfig::describe_family() const {
  const char* method = topk_method == TopkMethod::kGreedy               ? "greedy"
                       : topk_method == TopkMethod::kGroupLimitedGreedy ? "group_limited_greedy"
                                                                         : "noaux_tc";
  const char* scoring = scoring_func == ScoringFunc::kSoftmax ? "softmax" : "sigmoid";
  return fmt::format("{} ({} routing, {} scoring, {})", model_type, method, scoring,
                     q_lora_rank ? "q-LoRA" : "plain q_proj");
}

namespace {

using config_fields::FieldReader;
using config_fields::kMaxCount;
using config_fields::kMaxDimension;
using config_fields::kMaxPosition;

struct Defaults {
  std::int64_t vocab_size, hidden_size, intermediate_size, moe_intermediate_size,
      num_hidden_layers, num_nextn_predict_layers, num_attention_heads;
  std::optional<std::int64_t> n_shared_experts, n_routed_experts;
  double routed_scaling_factor;
  std::optional<std::int64_t> q_lora_rank;
  const char* topk_method;
  std::optional<std::int64_t> n_group, topk_group, num_experts_per_tok;
  std::int64_t first_k_dense_replace;
  bool norm_topk_prob;
  const char* scoring_func;
  std::int64_t max_position_embeddings;
  std::int64_t bos, eos;
};

constexpr Defaults kV2Defaults{102400, 4096, 11008, 1407, 30, 0, 32, std::nullopt, std::nullopt,
                               1.0, 1536, "gready", std::nullopt, std::nullopt, std::nullopt,
                               0, false, "softmax", 2048, 100000, 100001};
constexpr Defaults kV3Defaults{129280, 7168, 18432, 2048, 61, 1, 128, 1, 256, 2.5, 1536,
                               "noaux_tc", 8, 4, 8, 3, true, "sigmoid", 4096, 0, 1};

}  // namespace

DeepSeekConfig parse_deepseek_config(const nlohmann::json& json, const std::string& file) {
  if (!json.is_object()) fail("{}: expected a JSON object, got {}", file, json_type_name(json));
  const FieldReader r(json, file, "");
  DeepSeekConfig c;
  c.model_type = r.string("model_type", "");
  if (c.model_type.empty())
    fail("{}: field 'model_type' is missing (expected deepseek_v2 or deepseek_v3)", file);
  const Defaults* d = nullptr;
  if (c.model_type == "deepseek_v2") d = &kV2Defaults;
  else if (c.model_type == "deepseek_v3") d = &kV3Defaults;
  else
    fail("{}: model_type '{}' is not an architecture whale runs yet (expected deepseek_v2 or "
         "deepseek_v3)",
         file, c.model_type);

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
  c.moe_intermediate_size = r.integer("moe_intermediate_size", d->moe_intermediate_size, 1);
  c.num_hidden_layers = r.integer("num_hidden_layers", d->num_hidden_layers, 1, kMaxCount);
  c.num_nextn_predict_layers =
      r.integer("num_nextn_predict_layers", d->num_nextn_predict_layers, 0, kMaxCount);
  c.num_attention_heads = r.integer("num_attention_heads", d->num_attention_heads, 1);
  c.num_key_value_heads =
      r.optional_integer("num_key_value_heads", c.num_attention_heads, 1).value_or(c.num_attention_heads);
  c.q_lora_rank = r.optional_integer("q_lora_rank", d->q_lora_rank, 1);
  c.kv_lora_rank = r.integer("kv_lora_rank", 512, 1);
  c.qk_nope_head_dim = r.integer("qk_nope_head_dim", 128, 0);
  c.qk_rope_head_dim = r.integer("qk_rope_head_dim", 64, 2);
  c.v_head_dim = r.integer("v_head_dim", 128, 1);
  if (c.qk_rope_head_dim % 2 != 0)
    fail("{}: field 'qk_rope_head_dim' must be even (RoPE rotates pairs), got {}", file,
         c.qk_rope_head_dim);
  c.n_routed_experts = r.optional_integer("n_routed_experts", d->n_routed_experts, 1, kMaxCount);
  c.n_shared_experts = r.optional_integer("n_shared_experts", d->n_shared_experts, 0).value_or(0);
  c.num_experts_per_tok =
      r.optional_integer("num_experts_per_tok", d->num_experts_per_tok, 1).value_or(0);
  c.first_k_dense_replace = r.integer("first_k_dense_replace", d->first_k_dense_replace);
  c.moe_layer_freq = r.integer("moe_layer_freq", 1, 1);
  c.norm_topk_prob = r.boolean("norm_topk_prob", d->norm_topk_prob);
  c.routed_scaling_factor = r.number("routed_scaling_factor", d->routed_scaling_factor);
  c.hidden_act = r.string("hidden_act", "silu");
  if (c.hidden_act != "silu")
    fail("{}: field 'hidden_act' is '{}', but DeepSeek models use 'silu'", file, c.hidden_act);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  if (c.rms_norm_eps <= 0) fail("{}: field 'rms_norm_eps' must be positive", file);
  c.max_position_embeddings =
      r.integer("max_position_embeddings", d->max_position_embeddings, 1, kMaxPosition);
  c.rope_theta = r.number("rope_theta", 10000.0);
  if (c.rope_theta <= 1.0) fail("{}: field 'rope_theta' must be greater than 1", file);
  c.attention_bias = r.boolean("attention_bias", false);
  if (c.attention_bias)
    fail("{}: field 'attention_bias' is true; no DeepSeek release uses attention biases and "
         "whale does not run them",
         file);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.bos_token_id = r.optional_integer("bos_token_id", d->bos, 0, kMaxPosition);
  c.eos_token_id = r.optional_integer("eos_token_id", d->eos, 0, kMaxPosition);
  c.torch_dtype = r.string("torch_dtype", "bfloat16");

  const std::string scoring = r.string("scoring_func", d->scoring_func);
  if (scoring == "softmax") c.scoring_func = ScoringFunc::kSoftmax;
  else if (scoring == "sigmoid") c.scoring_func = ScoringFunc::kSigmoid;
  else fail("{}: field 'scoring_func' is '{}', expected softmax or sigmoid", file, scoring);

  const std::string method = r.string("topk_method", d->topk_method);
  if (method == "greedy" || method == "gready") c.topk_method = TopkMethod::kGreedy;
  else if (method == "group_limited_greedy") c.topk_method = TopkMethod::kGroupLimitedGreedy;
  else if (method == "noaux_tc") c.topk_method = TopkMethod::kNoauxTc;
  else
    fail("{}: field 'topk_method' is '{}', expected greedy, group_limited_greedy or noaux_tc",
         file, method);
  c.n_group = r.optional_integer("n_group", d->n_group, 1).value_or(1);
  c.topk_group = r.optional_integer("topk_group", d->topk_group, 1).value_or(c.n_group);

  if (c.n_routed_experts) {
    const std::int64_t e = *c.n_routed_experts;
    if (c.num_experts_per_tok < 1)
      fail("{}: field 'num_experts_per_tok' must be set for a MoE model (n_routed_experts {})",
           file, e);
    if (c.num_experts_per_tok > e)
      fail("{}: field 'num_experts_per_tok' ({}) exceeds n_routed_experts ({})", file,
           c.num_experts_per_tok, e);
    if (e % c.n_group != 0)
      fail("{}: field 'n_group' ({}) must divide n_routed_experts ({})", file, c.n_group, e);
    if (c.topk_group > c.n_group)
      fail("{}: field 'topk_group' ({}) exceeds n_group ({})", file, c.topk_group, c.n_group);
    if (c.topk_group * (e / c.n_group) < c.num_experts_per_tok)
      fail("{}: topk_group {} groups of {} experts hold fewer than num_experts_per_tok ({})", file,
           c.topk_group, e / c.n_group, c.num_experts_per_tok);
    if (c.topk_method == TopkMethod::kNoauxTc && e / c.n_group < 2)
      fail("{}: noaux_tc scores each group by its two best experts; groups of {} are too small",
           file, e / c.n_group);
  }

  if (const auto* rs = r.find("rope_scaling"); rs != nullptr && !rs->is_null()) {
    if (!rs->is_object()) r.wrong("rope_scaling", "an object or null", *rs);
    const FieldReader y(*rs, file, "rope_scaling.");
    std::string type = y.string("type", "");
    if (type.empty()) type = y.string("rope_type", "");
    if (type != "yarn")
      fail("{}: field 'rope_scaling.type' is '{}', but whale supports only 'yarn' for DeepSeek "
           "models",
           file, type);
    YarnScaling s;
    s.factor = y.number("factor", 1.0);
    if (s.factor <= 0) fail("{}: field 'rope_scaling.factor' must be positive", file);
    s.original_max_position_embeddings =
        y.integer("original_max_position_embeddings", 4096, 1, kMaxPosition);
    s.beta_fast = y.number("beta_fast", 32.0);
    s.beta_slow = y.number("beta_slow", 1.0);
    if (s.beta_fast <= 0 || s.beta_slow <= 0)
      fail("{}: fields 'rope_scaling.beta_fast' and 'beta_slow' must be positive", file);
    s.mscale = y.number("mscale", 1.0);
    s.mscale_all_dim = y.number("mscale_all_dim", 0.0);
    c.rope_scaling = s;
  }

  if (const auto* q = r.find("quantization_config"); q != nullptr && !q->is_null()) {
    if (!q->is_object()) r.wrong("quantization_config", "an object", *q);
    const FieldReader qr(*q, file, "quantization_config.");
    const std::string quant_method = qr.string("quant_method", "");
    if (quant_method != "fp8")
      fail("{}: field 'quantization_config.quant_method' is '{}'; whale reads DeepSeek's 'fp8' "
           "block quantization (other quantized checkpoints: use GGUF)",
           file, quant_method);
    Fp8Quantization f;
    f.fmt = qr.string("fmt", "e4m3");
    if (f.fmt != "e4m3")
      fail("{}: field 'quantization_config.fmt' is '{}', expected e4m3", file, f.fmt);
    f.activation_scheme = qr.string("activation_scheme", "dynamic");
    f.scale_fmt = qr.string("scale_fmt", "");
    if (const auto* b = qr.find("weight_block_size")) {
      const auto block_ok = [](const nlohmann::json& n) {
        return n.is_number_integer() && n.get<std::int64_t>() >= 1 &&
               n.get<std::int64_t>() <= kMaxDimension;
      };
      if (!b->is_array() || b->size() != 2 || !block_ok((*b)[0]) || !block_ok((*b)[1]))
        qr.wrong("weight_block_size", "two positive integers [rows, cols]", *b);
      f.block_rows = (*b)[0].get<std::int64_t>();
      f.block_cols = (*b)[1].get<std::int64_t>();
    }
    c.quantization = f;
  }
  return c;
}

DeepSeekConfig load_deepseek_config(const std::string& path) {
  return parse_deepseek_config(read_json_file(path), path);
}

nlohmann::json deepseek_config_to_json(const DeepSeekConfig& c) {
  const bool v3 = c.model_type == "deepseek_v3";
  nlohmann::json j;
  j["architectures"] = c.architectures.empty()
                           ? std::vector<std::string>{v3 ? "DeepseekV3ForCausalLM"
                                                         : "DeepseekV2ForCausalLM"}
                           : c.architectures;
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  const std::string cls = v3 ? "V3" : "V2";
  j["auto_map"] = {{"AutoConfig", "configuration_deepseek.Deepseek" + cls + "Config"},
                   {"AutoModel", "modeling_deepseek.Deepseek" + cls + "Model"},
                   {"AutoModelForCausalLM", "modeling_deepseek.Deepseek" + cls + "ForCausalLM"}};
  j["aux_loss_alpha"] = 0.001;
  j["bos_token_id"] = c.bos_token_id ? nlohmann::json(*c.bos_token_id) : nlohmann::json(nullptr);
  j["eos_token_id"] = c.eos_token_id ? nlohmann::json(*c.eos_token_id) : nlohmann::json(nullptr);
  if (v3) j["ep_size"] = 1;
  j["first_k_dense_replace"] = c.first_k_dense_replace;
  j["hidden_act"] = c.hidden_act;
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = c.intermediate_size;
  j["kv_lora_rank"] = c.kv_lora_rank;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["model_type"] = c.model_type;
  j["moe_intermediate_size"] = c.moe_intermediate_size;
  j["moe_layer_freq"] = c.moe_layer_freq;
  j["n_group"] = c.n_group;
  j["n_routed_experts"] =
      c.n_routed_experts ? nlohmann::json(*c.n_routed_experts) : nlohmann::json(nullptr);
  j["n_shared_experts"] = c.n_shared_experts;
  j["norm_topk_prob"] = c.norm_topk_prob;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_experts_per_tok"] = c.num_experts_per_tok;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_key_value_heads;
  if (v3) j["num_nextn_predict_layers"] = c.num_nextn_predict_layers;
  j["pretraining_tp"] = 1;
  j["q_lora_rank"] = c.q_lora_rank ? nlohmann::json(*c.q_lora_rank) : nlohmann::json(nullptr);
  j["qk_nope_head_dim"] = c.qk_nope_head_dim;
  j["qk_rope_head_dim"] = c.qk_rope_head_dim;
  if (c.quantization) {
    j["quantization_config"] = {{"activation_scheme", c.quantization->activation_scheme},
                                {"fmt", c.quantization->fmt},
                                {"quant_method", "fp8"},
                                {"weight_block_size",
                                 {c.quantization->block_rows, c.quantization->block_cols}}};
    if (!c.quantization->scale_fmt.empty())
      j["quantization_config"]["scale_fmt"] = c.quantization->scale_fmt;
  }
  j["rms_norm_eps"] = c.rms_norm_eps;
  if (c.rope_scaling) {
    j["rope_scaling"] = {{"beta_fast", c.rope_scaling->beta_fast},
                         {"beta_slow", c.rope_scaling->beta_slow},
                         {"factor", c.rope_scaling->factor},
                         {"mscale", c.rope_scaling->mscale},
                         {"mscale_all_dim", c.rope_scaling->mscale_all_dim},
                         {"original_max_position_embeddings",
                          c.rope_scaling->original_max_position_embeddings},
                         {"type", "yarn"}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["rope_theta"] = c.rope_theta;
  j["routed_scaling_factor"] = c.routed_scaling_factor;
  j["scoring_func"] = c.scoring_func == ScoringFunc::kSoftmax ? "softmax" : "sigmoid";
  j["seq_aux"] = true;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["topk_group"] = c.topk_group;
  j["topk_method"] = c.topk_method == TopkMethod::kGreedy               ? "greedy"
                     : c.topk_method == TopkMethod::kGroupLimitedGreedy ? "group_limited_greedy"
                                                                         : "noaux_tc";
  j["torch_dtype"] = c.torch_dtype.empty() ? "bfloat16" : c.torch_dtype;
  j["transformers_version"] = "4.46.3";
  j["use_cache"] = true;
  j["v_head_dim"] = c.v_head_dim;
  j["vocab_size"] = c.vocab_size;
  return j;
}

}  // namespace whale
