// config.json of a DeepSeek-V2 / V2-Lite / V3 / R1 / V3.1 checkpoint as a typed, validated
// value. Defaults are those of the configuration_deepseek.py shipped with each model_type
// (docs/deepseek-v2-v3.md section 1.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace whale {

enum class ScoringFunc { kSoftmax, kSigmoid };
enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };

struct YarnScaling {
  double factor = 1.0;
  std::int64_t original_max_position_embeddings = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;  // HF class default: 0 means "no softmax correction"
};

struct Fp8Quantization {
  std::string fmt = "e4m3";
  std::string activation_scheme = "dynamic";
  std::int64_t block_rows = 128;  // weight_block_size[0]
  std::int64_t block_cols = 128;  // weight_block_size[1]
  std::string scale_fmt;          // "ue8m0" for V3.1; empty otherwise
};

struct DeepSeekConfig {
  std::string model_type;  // deepseek_v2 | deepseek_v3
  std::vector<std::string> architectures;
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;      // dense MLP width
  std::int64_t moe_intermediate_size = 0;  // one routed expert's width
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_nextn_predict_layers = 0;  // MTP modules stored after the main layers
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::optional<std::int64_t> q_lora_rank;  // nullopt: plain q_proj (V2-Lite)
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;
  std::optional<std::int64_t> n_routed_experts;  // nullopt: every layer dense
  std::int64_t n_shared_experts = 0;
  std::int64_t num_experts_per_tok = 0;
  std::int64_t first_k_dense_replace = 0;
  std::int64_t moe_layer_freq = 1;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  TopkMethod topk_method = TopkMethod::kGreedy;
  std::int64_t n_group = 1;
  std::int64_t topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  std::string hidden_act = "silu";
  double rms_norm_eps = 1e-6;
  std::int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  std::optional<YarnScaling> rope_scaling;  // only "yarn" is accepted
  bool attention_bias = false;
  bool tie_word_embeddings = false;
  std::optional<std::int64_t> bos_token_id;
  std::optional<std::int64_t> eos_token_id;
  std::string torch_dtype;
  std::optional<Fp8Quantization> quantization;

  std::int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  std::int64_t latent_width() const { return kv_lora_rank + qk_rope_head_dim; }  // cached/token/layer
  bool is_moe_layer(std::int64_t layer) const {
    return n_routed_experts.has_value() && layer >= first_k_dense_replace &&
           layer % moe_layer_freq == 0;
  }
  // softmax scale: dq^-0.5, times yarn_get_mscale(factor, mscale_all_dim)^2 (section 4.2).
  double softmax_scale() const;
  // Magnitude applied to the rope cos/sin tables: mscale ratio (section 5.4), 1.0 when released.
  double rope_magnitude() const;
  std::string describe_family() const;  // "DeepSeek-V3 (noaux_tc, sigmoid)"
};

// yarn_get_mscale(scale, mscale) = 0.1 * mscale * ln(scale) + 1 for scale > 1, else 1.
double yarn_get_mscale(double scale, double mscale);

// Parses config.json content; `file` names it in errors. Throws whale::Error naming the field
// and what was expected for a wrong type, an out-of-range value, an unknown model_type,
// rope_scaling.type, topk_method or scoring_func.
DeepSeekConfig parse_deepseek_config(const nlohmann::json& json, const std::string& file);

// Reads and parses `path`.
DeepSeekConfig load_deepseek_config(const std::string& path);

// The inverse, for make-model: every field a released config.json carries.
nlohmann::json deepseek_config_to_json(const DeepSeekConfig& config);

}  // namespace whale
