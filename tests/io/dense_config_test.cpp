// config.json -> DenseConfig for Qwen2 and Llama, and the loader's refusals: each error names
// the file and the field (or tensor) and says what was expected.
#include "io/dense_config.h"

#include <gtest/gtest.h>

#include "model/dense_loader.h"
#include "model/load.h"
#include "model/rope.h"
#include "support/test_support.h"
#include "util/json_file.h"

namespace whale {
namespace {

std::string dense_folder(const std::string& name) {
  return std::string(WHALE_TEST_DATA) + "/golden-dense/" + name;
}

nlohmann::json golden_json(const std::string& name) {
  return read_json_file(dense_folder(name) + "/config.json");
}

DenseConfig parse(const nlohmann::json& j) {
  return parse_dense_config(j, "config.json");
}

TEST(DenseConfig, Qwen2GoldenConfig) {
  const DenseConfig c = load_dense_config(dense_folder("qwen2-tiny") + "/config.json");
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.intermediate_size, 384);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.vocab_size, 1024);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.rope_scaling);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1000);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{1000});
  EXPECT_EQ(c.cache_width(), 64);
}

TEST(DenseConfig, LlamaGoldenConfigWithLlama3Scaling) {
  const DenseConfig c = load_dense_config(dense_folder("llama-tiny") + "/config.json");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  ASSERT_TRUE(c.rope_scaling);
  EXPECT_DOUBLE_EQ(c.rope_scaling->factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling->low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling->high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{1001});
}

TEST(DenseConfig, ExplicitHeadDimAndEosListAndAttentionBias) {
  nlohmann::json j = golden_json("llama-tiny");
  j["head_dim"] = 32;
  j["eos_token_id"] = {1001, 1002};
  j["attention_bias"] = true;
  const DenseConfig c = parse(j);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.q_width(), 256);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{1001, 1002}));
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.o_bias);
}

TEST(DenseConfig, ToJsonRoundTrips) {
  for (const char* name : {"qwen2-tiny", "llama-tiny"}) {
    const DenseConfig a = parse(golden_json(name));
    const DenseConfig b = parse(dense_config_to_json(a));
    EXPECT_EQ(b.model_type, a.model_type);
    EXPECT_EQ(b.hidden_size, a.hidden_size);
    EXPECT_EQ(b.num_key_value_heads, a.num_key_value_heads);
    EXPECT_EQ(b.head_dim, a.head_dim);
    EXPECT_EQ(b.qkv_bias, a.qkv_bias);
    EXPECT_EQ(b.rope_scaling.has_value(), a.rope_scaling.has_value());
    EXPECT_EQ(b.eos_token_ids, a.eos_token_ids);
  }
}

TEST(DenseConfig, BadFieldsAreNamed) {
  const auto with = [](const char* base, const char* key, nlohmann::json value) {
    nlohmann::json j = golden_json(base);
    j[key] = std::move(value);
    return j;
  };
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "use_sliding_window", true)), "config.json",
                     "use_sliding_window");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "model_type", "mistral")), "model_type", "mistral",
                     "qwen2 or llama");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "num_key_value_heads", 3)), "num_key_value_heads",
                     "divide");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "num_attention_heads", 6)), "hidden_size",
                     "head_dim");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "head_dim", 15)), "head_dim", "even");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "hidden_act", "gelu")), "hidden_act", "gelu");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "vocab_size", "1024")), "vocab_size", "an integer");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "rms_norm_eps", 0)), "rms_norm_eps", "positive");
  EXPECT_WHALE_ERROR(parse(with("llama-tiny", "mlp_bias", true)), "mlp_bias");
  EXPECT_WHALE_ERROR(parse(with("llama-tiny", "eos_token_id", nlohmann::json::array({"x"}))),
                     "eos_token_id");
  EXPECT_WHALE_ERROR(
      parse(with("llama-tiny", "rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}})),
      "rope_scaling.rope_type", "linear", "llama3");
  EXPECT_WHALE_ERROR(parse(with("qwen2-tiny", "rope_scaling", {{"type", "yarn"}, {"factor", 4.0}})),
                     "rope_scaling.rope_type", "yarn");
  nlohmann::json no_original = golden_json("llama-tiny");
  no_original["rope_scaling"].erase("original_max_position_embeddings");
  EXPECT_WHALE_ERROR(parse(no_original), "rope_scaling.original_max_position_embeddings");
  nlohmann::json inverted = golden_json("llama-tiny");
  inverted["rope_scaling"]["low_freq_factor"] = 4.0;
  EXPECT_WHALE_ERROR(parse(inverted), "low_freq_factor", "high_freq_factor");
}

TEST(DenseLoader, UnknownModelTypeListsTheSupportedOnes) {
  test::TempDir dir;
  test::copy_golden_dense("qwen2-tiny", dir);
  nlohmann::json j = golden_json("qwen2-tiny");
  j["model_type"] = "gemma";
  test::write_json(dir.file("config.json"), j);
  EXPECT_WHALE_ERROR(load_model(dir.str()), "gemma", "deepseek_v3", "qwen2", "llama");
}

TEST(DenseLoader, MissingAndUnexpectedTensorsAreNamed) {
  test::TempDir dir;
  test::copy_golden_dense("llama-tiny", dir);
  nlohmann::json j = golden_json("llama-tiny");
  j["num_hidden_layers"] = 3;
  test::write_json(dir.file("config.json"), j);
  EXPECT_WHALE_ERROR(load_model(dir.str()), "model.layers.2.input_layernorm.weight", "missing");
  j["num_hidden_layers"] = 1;
  test::write_json(dir.file("config.json"), j);
  EXPECT_WHALE_ERROR(load_model(dir.str()), "unexpected tensor", "model.layers.1.");
  j["num_hidden_layers"] = 2;
  j["attention_bias"] = true;
  test::write_json(dir.file("config.json"), j);
  EXPECT_WHALE_ERROR(load_model(dir.str()), "model.layers.0.self_attn.q_proj.bias", "missing");
  j["attention_bias"] = false;
  j["intermediate_size"] = 256;
  test::write_json(dir.file("config.json"), j);
  EXPECT_WHALE_ERROR(load_model(dir.str()), "model.layers.0.mlp.gate_proj.weight", "[384, 128]",
                     "[256, 128]");
}

TEST(DenseLoader, Qwen2BiasesArePresentAndRequired) {
  // A llama config over the qwen2 tensors: the q/k/v biases are not part of that model.
  test::TempDir dir;
  test::copy_golden_dense("qwen2-tiny", dir);
  nlohmann::json j = golden_json("qwen2-tiny");
  j["model_type"] = "llama";
  test::write_json(dir.file("config.json"), j);
  EXPECT_WHALE_ERROR(load_model(dir.str()), "q_proj.bias", "no q/k/v biases");
}

TEST(DenseLoader, TiedEmbeddingServesAsTheHeadWhenLmHeadIsAbsent) {
  test::TempDir dir;
  test::copy_golden_dense("qwen2-tiny", dir);
  auto image = test::SafetensorsImage::read(dir.file("model.safetensors"));
  image.header.erase("lm_head.weight");
  image.write(dir.file("model.safetensors"));
  // Untied config: the head is required.
  EXPECT_WHALE_ERROR(load_model(dir.str()), "lm_head.weight", "missing");
  nlohmann::json j = golden_json("qwen2-tiny");
  j["tie_word_embeddings"] = true;
  test::write_json(dir.file("config.json"), j);
  auto model = load_dense_folder(dir.str());
  EXPECT_EQ(model->weights().lm_head.data, model->weights().embed.data);
  std::int64_t stored = 0;
  for (const auto& [name, info] : model->source().tensors()) stored += info->numel();
  EXPECT_EQ(model->summary().total_parameters, stored);  // the embedding counted once
}

TEST(DenseRope, Llama3KeepsHighFrequenciesAndDividesLowOnes) {
  Llama3RopeScaling s;  // factor 8, low 1, high 4, original 8192
  const auto plain = llama3_inv_freq(128, 500000.0, std::nullopt);
  const auto scaled = llama3_inv_freq(128, 500000.0, s);
  ASSERT_EQ(plain.size(), 64u);
  EXPECT_DOUBLE_EQ(plain[0], 1.0);
  EXPECT_DOUBLE_EQ(scaled[0], 1.0);               // wavelength 2π, far below 8192 / 4
  EXPECT_DOUBLE_EQ(scaled[63], plain[63] / 8.0);  // wavelength far above 8192
  int blended = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const double wavelength = 2.0 * 3.141592653589793 / plain[i];
    if (wavelength > 2048.0 && wavelength < 8192.0) {
      ++blended;
      EXPECT_LT(scaled[i], plain[i]);
      EXPECT_GT(scaled[i], plain[i] / 8.0);
    }
    if (i > 0) {
      EXPECT_LT(scaled[i], scaled[i - 1]);
    }
  }
  EXPECT_GT(blended, 0);
}

}  // namespace
}  // namespace whale
