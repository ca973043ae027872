// config.json -> DeepSeekConfig: the golden configs, the per-model_type defaults of
// docs/deepseek-v2-v3.md section 1.2, and the edge cases the loader relies on.
#include "io/deepseek_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"
#include "util/json_file.h"

namespace whale {
namespace {

DeepSeekConfig parse(const std::string& text) {
  return parse_deepseek_config(parse_json(text, "config.json"), "config.json");
}

DeepSeekConfig golden(const std::string& folder) {
  return load_deepseek_config(test::golden_folder(folder) + "/config.json");
}

// Values shared by all four golden configs (tests/data/golden/README.md, "Config highlights").
void expect_common_golden_shape(const DeepSeekConfig& c) {
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.moe_layer_freq, 1);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.qk_nope_head_dim, 32);
  EXPECT_EQ(c.qk_rope_head_dim, 16);
  EXPECT_EQ(c.qk_head_dim(), 48);
  EXPECT_EQ(c.v_head_dim, 32);
  EXPECT_EQ(c.kv_lora_rank, 96);
  EXPECT_EQ(c.latent_width(), 112);
  EXPECT_EQ(c.intermediate_size, 256);
  EXPECT_EQ(c.moe_intermediate_size, 16);
  EXPECT_EQ(c.n_routed_experts, 16);
  EXPECT_EQ(c.num_experts_per_tok, 4);
  EXPECT_EQ(c.vocab_size, 600);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.max_position_embeddings, 163840);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.hidden_act, "silu");
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_id, 1);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->factor, 40.0);
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 4096);
  EXPECT_EQ(c.rope_scaling->beta_fast, 32.0);
  EXPECT_EQ(c.rope_scaling->beta_slow, 1.0);
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
  EXPECT_TRUE(c.is_moe_layer(2));
}

TEST(DeepSeekConfig, GoldenV2LiteTiny) {
  const DeepSeekConfig c = golden("v2-lite-tiny");
  expect_common_golden_shape(c);
  EXPECT_EQ(c.model_type, "deepseek_v2");
  EXPECT_EQ(c.architectures, std::vector<std::string>{"DeepseekV2ForCausalLM"});
  EXPECT_FALSE(c.q_lora_rank.has_value());  // explicit null: plain q_proj
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.scoring_func, ScoringFunc::kSoftmax);
  EXPECT_EQ(c.topk_method, TopkMethod::kGreedy);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_EQ(c.rope_scaling->mscale, 0.707);
  EXPECT_EQ(c.rope_scaling->mscale_all_dim, 0.707);
  EXPECT_EQ(c.num_nextn_predict_layers, 0);
  EXPECT_FALSE(c.quantization.has_value());
}

TEST(DeepSeekConfig, GoldenV2Tiny) {
  const DeepSeekConfig c = golden("v2-tiny");
  expect_common_golden_shape(c);
  EXPECT_EQ(c.model_type, "deepseek_v2");
  EXPECT_EQ(c.q_lora_rank, 160);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.scoring_func, ScoringFunc::kSoftmax);
  EXPECT_EQ(c.topk_method, TopkMethod::kGroupLimitedGreedy);
  EXPECT_EQ(c.n_group, 4);
  EXPECT_EQ(c.topk_group, 2);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 16.0);
  EXPECT_EQ(c.rope_scaling->mscale, 0.707);
  EXPECT_EQ(c.rope_scaling->mscale_all_dim, 0.707);
  EXPECT_FALSE(c.quantization.has_value());
}

void expect_v3_tiny(const DeepSeekConfig& c) {
  expect_common_golden_shape(c);
  EXPECT_EQ(c.model_type, "deepseek_v3");
  EXPECT_EQ(c.architectures, std::vector<std::string>{"DeepseekV3ForCausalLM"});
  EXPECT_EQ(c.q_lora_rank, 160);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.scoring_func, ScoringFunc::kSigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::kNoauxTc);
  EXPECT_EQ(c.n_group, 4);
  EXPECT_EQ(c.topk_group, 2);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.rope_scaling->mscale, 1.0);
  EXPECT_EQ(c.rope_scaling->mscale_all_dim, 1.0);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
}

TEST(DeepSeekConfig, GoldenV3TinyFp8) {
  const DeepSeekConfig c = golden("v3-tiny-fp8");
  expect_v3_tiny(c);
  ASSERT_TRUE(c.quantization.has_value());
  EXPECT_EQ(c.quantization->fmt, "e4m3");
  EXPECT_EQ(c.quantization->activation_scheme, "dynamic");
  EXPECT_EQ(c.quantization->block_rows, 128);
  EXPECT_EQ(c.quantization->block_cols, 128);
  EXPECT_EQ(c.quantization->scale_fmt, "");
}

TEST(DeepSeekConfig, GoldenV3TinyBf16) {
  const DeepSeekConfig c = golden("v3-tiny-bf16");
  expect_v3_tiny(c);
  EXPECT_FALSE(c.quantization.has_value());
}

TEST(DeepSeekConfig, DeepseekV2ClassDefaults) {
  const DeepSeekConfig c = parse(R"({"model_type": "deepseek_v2"})");
  EXPECT_EQ(c.vocab_size, 102400);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.moe_intermediate_size, 1407);
  EXPECT_EQ(c.num_hidden_layers, 30);
  EXPECT_EQ(c.num_nextn_predict_layers, 0);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.n_shared_experts, 0);              // None
  EXPECT_FALSE(c.n_routed_experts.has_value());  // None: a dense model
  EXPECT_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.qk_rope_head_dim, 64);
  EXPECT_EQ(c.v_head_dim, 128);
  EXPECT_EQ(c.qk_nope_head_dim, 128);
  EXPECT_EQ(c.topk_method, TopkMethod::kGreedy);  // the class default is the typo "gready"
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_EQ(c.num_experts_per_tok, 0);
  EXPECT_EQ(c.moe_layer_freq, 1);
  EXPECT_EQ(c.first_k_dense_replace, 0);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.scoring_func, ScoringFunc::kSoftmax);
  EXPECT_EQ(c.hidden_act, "silu");
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.bos_token_id, 100000);
  EXPECT_EQ(c.eos_token_id, 100001);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_FALSE(c.is_moe_layer(5));
}

TEST(DeepSeekConfig, DeepseekV3ClassDefaults) {
  const DeepSeekConfig c = parse(R"({"model_type": "deepseek_v3"})");
  EXPECT_EQ(c.vocab_size, 129280);
  EXPECT_EQ(c.hidden_size, 7168);
  EXPECT_EQ(c.intermediate_size, 18432);
  EXPECT_EQ(c.moe_intermediate_size, 2048);
  EXPECT_EQ(c.num_hidden_layers, 61);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_EQ(c.num_attention_heads, 128);
  EXPECT_EQ(c.num_key_value_heads, 128);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.qk_rope_head_dim, 64);
  EXPECT_EQ(c.v_head_dim, 128);
  EXPECT_EQ(c.qk_nope_head_dim, 128);
  EXPECT_EQ(c.topk_method, TopkMethod::kNoauxTc);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.scoring_func, ScoringFunc::kSigmoid);
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_id, 1);
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
}

TEST(DeepSeekConfig, GreadyIsAcceptedAsGreedy) {
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v2", "topk_method": "gready"})").topk_method,
            TopkMethod::kGreedy);
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v2", "topk_method": "greedy"})").topk_method,
            TopkMethod::kGreedy);
}

TEST(DeepSeekConfig, QLoraRankNullMeansPlainQProjButAbsentMeansTheDefault) {
  EXPECT_FALSE(parse(R"({"model_type": "deepseek_v2", "q_lora_rank": null})").q_lora_rank);
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v2"})").q_lora_rank, 1536);
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v3"})").q_lora_rank, 1536);
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v3", "q_lora_rank": 64})").q_lora_rank, 64);
}

TEST(DeepSeekConfig, NullKeyValueHeadsFollowAttentionHeads) {
  const DeepSeekConfig c = parse(
      R"({"model_type": "deepseek_v2", "num_attention_heads": 16, "num_key_value_heads": null})");
  EXPECT_EQ(c.num_key_value_heads, 16);
}

TEST(DeepSeekConfig, YarnSubKeyDefaults) {
  const DeepSeekConfig c =
      parse(R"({"model_type": "deepseek_v3", "rope_scaling": {"type": "yarn", "factor": 40}})");
  ASSERT_TRUE(c.rope_scaling);
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 4096);
  EXPECT_EQ(c.rope_scaling->beta_fast, 32.0);
  EXPECT_EQ(c.rope_scaling->beta_slow, 1.0);
  EXPECT_EQ(c.rope_scaling->mscale, 1.0);
  EXPECT_EQ(c.rope_scaling->mscale_all_dim, 0.0);  // the asymmetric HF default
  // mscale_all_dim 0: no softmax correction, but cos/sin carry yarn_get_mscale(40, 1).
  EXPECT_DOUBLE_EQ(c.softmax_scale(), 1.0 / std::sqrt(192.0));
  EXPECT_DOUBLE_EQ(c.rope_magnitude(), 0.1 * std::log(40.0) + 1.0);
}

TEST(DeepSeekConfig, RopeTypeKeyIsAcceptedForYarn) {
  const DeepSeekConfig c =
      parse(R"({"model_type": "deepseek_v3", "rope_scaling": {"rope_type": "yarn", "factor": 4}})");
  ASSERT_TRUE(c.rope_scaling);
  EXPECT_EQ(c.rope_scaling->factor, 4.0);
}

TEST(DeepSeekConfig, NullRopeScalingMeansPlainRope) {
  const DeepSeekConfig c = parse(R"({"model_type": "deepseek_v3", "rope_scaling": null})");
  EXPECT_FALSE(c.rope_scaling);
  EXPECT_DOUBLE_EQ(c.rope_magnitude(), 1.0);
}

TEST(DeepSeekConfig, IntegralFloatsAreIntegers) {
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v3", "hidden_size": 256.0})").hidden_size, 256);
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "hidden_size": 256.5})"),
                     "'hidden_size'", "an integer");
}

TEST(DeepSeekConfig, UnknownKeysAreIgnored) {
  EXPECT_NO_THROW(parse(R"({"model_type": "deepseek_v3", "ep_size": 1, "seq_aux": true,
                            "auto_map": {"AutoConfig": "x"}, "aux_loss_alpha": 0.001})"));
}

TEST(DeepSeekConfig, Ue8m0ScaleFormatIsKept) {
  const DeepSeekConfig c = parse(R"({"model_type": "deepseek_v3", "quantization_config":
      {"quant_method": "fp8", "fmt": "e4m3", "scale_fmt": "ue8m0",
       "weight_block_size": [64, 32]}})");
  ASSERT_TRUE(c.quantization);
  EXPECT_EQ(c.quantization->scale_fmt, "ue8m0");
  EXPECT_EQ(c.quantization->block_rows, 64);
  EXPECT_EQ(c.quantization->block_cols, 32);
}

TEST(DeepSeekConfig, RejectsUnsupportedValuesByName) {
  EXPECT_WHALE_ERROR(parse(R"({"hidden_size": 4})"), "config.json", "'model_type' is missing");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "llama"})"), "model_type 'llama'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "topk_method": "greedy_v4"})"),
                     "'topk_method'", "'greedy_v4'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "scoring_func": "tanh"})"),
                     "'scoring_func'", "'tanh'");
  EXPECT_WHALE_ERROR(
      parse(R"({"model_type": "deepseek_v3", "rope_scaling": {"type": "linear", "factor": 2}})"),
      "'rope_scaling.type'", "'linear'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "rope_scaling": {"factor": 2}})"),
                     "'rope_scaling.type'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "hidden_act": "gelu"})"),
                     "'hidden_act'", "'gelu'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "attention_bias": true})"),
                     "'attention_bias'");
  EXPECT_WHALE_ERROR(
      parse(R"({"model_type": "deepseek_v3", "quantization_config": {"quant_method": "gptq"}})"),
      "'quantization_config.quant_method'", "'gptq'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3",
                "quantization_config": {"quant_method": "fp8", "fmt": "e5m2"}})"),
                     "'quantization_config.fmt'", "'e5m2'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "quantization_config":
                             {"quant_method": "fp8", "weight_block_size": [128]}})"),
                     "'quantization_config.weight_block_size'");
  EXPECT_WHALE_ERROR(parse(R"([1, 2])"), "config.json", "JSON object");
}

TEST(DeepSeekConfig, RejectsInconsistentRouting) {
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "num_experts_per_tok": 300})"),
                     "'num_experts_per_tok'", "exceeds n_routed_experts");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "n_group": 7})"), "'n_group'",
                     "divide");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "topk_group": 9})"), "'topk_group'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "n_group": 128, "topk_group": 2})"),
                     "topk_group 2 groups of 2 experts", "(8)");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "n_group": 256, "topk_group": 256})"),
                     "noaux_tc", "groups of 1");
  EXPECT_WHALE_ERROR(
      parse(
          R"({"model_type": "deepseek_v2", "n_routed_experts": 64, "num_experts_per_tok": null})"),
      "'num_experts_per_tok'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "qk_rope_head_dim": 63})"),
                     "'qk_rope_head_dim'", "even");
}

TEST(DeepSeekConfig, RejectsSizesThatWouldOverflowTheLoadersArithmetic) {
  // Before these bounds, nh * dq and (rows + block - 1) overflowed int64 in the loader.
  EXPECT_WHALE_ERROR(
      parse(R"({"model_type": "deepseek_v3", "num_attention_heads": 9000000000000000000})"),
      "'num_attention_heads'", "at most");
  EXPECT_WHALE_ERROR(
      parse(R"({"model_type": "deepseek_v2", "qk_nope_head_dim": 18446744073709551615})"),
      "'qk_nope_head_dim'", "at most");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "quantization_config":
                             {"quant_method": "fp8",
                              "weight_block_size": [9223372036854775807, 128]}})"),
                     "'quantization_config.weight_block_size'");
  // Layer and expert counts size tables before any tensor is checked: a smaller bound.
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "n_routed_experts": 16777216})"),
                     "'n_routed_experts'", "at most 65536");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "num_nextn_predict_layers": 100000})"),
                     "'num_nextn_predict_layers'", "at most 65536");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "num_hidden_layers": 100000})"),
                     "'num_hidden_layers'", "at most 65536");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "max_position_embeddings": 1e12})"),
                     "'max_position_embeddings'", "at most");
  EXPECT_EQ(parse(R"({"model_type": "deepseek_v3", "max_position_embeddings": 1048576})")
                .max_position_embeddings,
            1048576);
}

TEST(DeepSeekConfig, RejectsNumbersBeyondDoubleRangeAsMalformedJson) {
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "rope_theta": 1e999})"), "config.json",
                     "malformed JSON", "1e999");
}

TEST(DeepSeekConfig, RejectsNonFiniteAndNonPositiveScalars) {
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "rms_norm_eps": 0})"),
                     "'rms_norm_eps'");
  EXPECT_WHALE_ERROR(parse(R"({"model_type": "deepseek_v3", "rope_theta": 1})"), "'rope_theta'");
  EXPECT_WHALE_ERROR(
      parse(R"({"model_type": "deepseek_v3", "rope_scaling": {"type": "yarn", "factor": -1}})"),
      "'rope_scaling.factor'");
  EXPECT_WHALE_ERROR(
      parse(R"({"model_type": "deepseek_v3", "rope_scaling": {"type": "yarn", "beta_fast": 0}})"),
      "'rope_scaling.beta_fast'");
}

TEST(DeepSeekConfig, ConfigWrittenByToJsonParsesBack) {
  const DeepSeekConfig c = golden("v3-tiny-fp8");
  const DeepSeekConfig back = parse_deepseek_config(deepseek_config_to_json(c), "round trip");
  EXPECT_EQ(back.hidden_size, c.hidden_size);
  EXPECT_EQ(back.q_lora_rank, c.q_lora_rank);
  EXPECT_EQ(back.topk_method, c.topk_method);
  EXPECT_EQ(back.rope_scaling->mscale_all_dim, c.rope_scaling->mscale_all_dim);
  EXPECT_EQ(back.quantization->block_rows, 128);
}

}  // namespace
}  // namespace whale
