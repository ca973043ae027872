// The DeepSeek golden fixtures as llama.cpp's converter writes them (tests/data/golden-gguf):
// each GGUF must give its golden folder's reference logits, expert choices and greedy tokens,
// in the current split attn_k_b/attn_v_b form and in the older combined attn_kv_b form.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "model/deepseek.h"
#include "model/gguf_load.h"
#include "model/golden_support.h"
#include "util/error.h"

namespace whale {
namespace {

using namespace golden;

struct GgufGolden {
  const char* file;
  const char* folder;
};

std::string gguf_path(const char* file) {
  return std::string(WHALE_TEST_DATA) + "/golden-gguf/" + file;
}

class GgufGoldenTest : public ::testing::TestWithParam<GgufGolden> {};

TEST_P(GgufGoldenTest, ReferenceLogitsRoutesAndGreedyTokens) {
  const auto model = load_gguf_model(gguf_path(GetParam().file));
  const std::int64_t V = model->summary().vocab_size;
  for (const auto& c : load_cases(GetParam().folder)) {
    const RunOutput out = run_case(*model, c.ids, c.prefill, 2);
    ASSERT_EQ(out.logits.size(), c.logits.size()) << c.name;
    float worst = 0.0f;
    for (std::size_t i = 0; i < c.logits.size(); ++i) {
      ASSERT_FALSE(std::isnan(out.logits[i]));
      worst = std::max(worst, std::fabs(out.logits[i] - c.logits[i]));
    }
    EXPECT_LE(worst, kTolerance) << GetParam().file << "/" << c.name;
    std::printf("[gguf golden] %s/%s: max |logit error| %.3g over %zu rows of %lld\n",
                GetParam().file, c.name.c_str(), worst, c.ids.size(), static_cast<long long>(V));
    ASSERT_EQ(out.experts.size(), c.experts.size()) << c.name;
    for (std::size_t j = 0; j < c.experts.size(); ++j)
      EXPECT_EQ(out.experts[j], c.experts[j]) << c.name << " layer " << c.moe_layers[j];
    const std::vector<std::int32_t> prompt(c.ids.begin(), c.ids.begin() + c.greedy_prompt_len);
    EXPECT_EQ(greedy(*model, prompt, static_cast<std::int64_t>(c.greedy.size())), c.greedy)
        << c.name;
  }
}

// Both MLA forms, forced, on each file's kv_b layout (the split form's expanded keys come from
// attn_k_b transposed): every golden case within the golden tolerance of the reference.
TEST_P(GgufGoldenTest, BothMlaFormsGiveTheReferenceLogits) {
  const auto loaded = load_gguf_model(gguf_path(GetParam().file));
  auto* model = dynamic_cast<DeepSeekModel*>(loaded.get());
  ASSERT_NE(model, nullptr);
  for (const MlaForm form : {MlaForm::kAbsorbed, MlaForm::kExpanded}) {
    model->set_mla_form(form);
    for (const auto& c : load_cases(GetParam().folder)) {
      const RunOutput out = run_case(*model, c.ids, c.prefill, 2);
      ASSERT_EQ(out.logits.size(), c.logits.size()) << c.name;
      float worst = 0.0f;
      for (std::size_t i = 0; i < c.logits.size(); ++i)
        worst = std::max(worst, std::fabs(out.logits[i] - c.logits[i]));
      EXPECT_LE(worst, kTolerance)
          << GetParam().file << "/" << c.name << " form " << static_cast<int>(form);
    }
  }
}

TEST_P(GgufGoldenTest, SameConfigAsTheFolder) {
  const GgufModel gguf(gguf_path(GetParam().file));
  bool bias = false;
  for (const GgufTensor& t : gguf.tensors()) bias |= t.name.ends_with("exp_probs_b.bias");
  const DeepSeekConfig g = deepseek_config_from_gguf(gguf.metadata(), bias);
  DeepSeekConfig f = load_deepseek_config(folder_path(GetParam().folder) + "/config.json");
  EXPECT_EQ(g.n_group, f.n_group);
  EXPECT_EQ(g.topk_group, f.topk_group);
  EXPECT_EQ(g.hidden_size, f.hidden_size);
  EXPECT_EQ(g.num_hidden_layers, f.num_hidden_layers);
  EXPECT_EQ(g.q_lora_rank, f.q_lora_rank);
  EXPECT_EQ(g.kv_lora_rank, f.kv_lora_rank);
  EXPECT_EQ(g.qk_nope_head_dim, f.qk_nope_head_dim);
  EXPECT_EQ(g.qk_rope_head_dim, f.qk_rope_head_dim);
  EXPECT_EQ(g.v_head_dim, f.v_head_dim);
  EXPECT_EQ(g.n_routed_experts, f.n_routed_experts);
  EXPECT_EQ(g.num_experts_per_tok, f.num_experts_per_tok);
  EXPECT_EQ(g.n_shared_experts, f.n_shared_experts);
  EXPECT_EQ(g.first_k_dense_replace, f.first_k_dense_replace);
  EXPECT_EQ(g.topk_method, f.topk_method);
  EXPECT_EQ(g.scoring_func, f.scoring_func);
  EXPECT_EQ(g.norm_topk_prob, f.norm_topk_prob);
  EXPECT_NEAR(g.routed_scaling_factor, f.routed_scaling_factor, 1e-6);
  EXPECT_NEAR(g.softmax_scale(), f.softmax_scale(), 1e-6 * f.softmax_scale());
  EXPECT_NEAR(g.rope_magnitude(), f.rope_magnitude(), 1e-6);
}

// The file the older converter wrote (combined attn_kv_b, no expert-group keys) describes the
// folder's model with n_group = topk_group = 1 (golden-gguf README), for which there are no
// reference logits: it is held to the safetensors folder run with groups off.
TEST(GgufGolden, CombinedKvbFormEqualsTheFolderWithoutGroups) {
  const auto gguf = load_gguf_model(gguf_path("v3-tiny-bf16.kvb-combined.bf16.gguf"));
  DeepSeekConfig config = load_deepseek_config(folder_path("v3-tiny-bf16") + "/config.json");
  config.n_group = 1;
  config.topk_group = 1;
  const GgufModel file(gguf_path("v3-tiny-bf16.kvb-combined.bf16.gguf"));
  EXPECT_EQ(deepseek_config_from_gguf(file.metadata(), true).n_group, 1);
  EXPECT_TRUE(file.find_tensor("blk.0.attn_kv_b.weight") != nullptr);
  DeepSeekModel folder(config, std::make_shared<Checkpoint>(folder_path("v3-tiny-bf16")));
  for (const auto& c : load_cases("v3-tiny-bf16")) {
    const RunOutput a = run_case(*gguf, c.ids, c.prefill, 2);
    const RunOutput b = run_case(folder, c.ids, c.prefill, 2);
    ASSERT_EQ(a.logits.size(), b.logits.size());
    float worst = 0.0f;
    for (std::size_t i = 0; i < a.logits.size(); ++i)
      worst = std::max(worst, std::fabs(a.logits[i] - b.logits[i]));
    EXPECT_LE(worst, 1e-4f) << c.name;
    EXPECT_EQ(a.experts, b.experts) << c.name;
    // And the routing does differ from the reference's grouped one, so the test is not vacuous.
    EXPECT_NE(b.experts, c.experts) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GgufGoldenTest,
                         ::testing::Values(GgufGolden{"v2-lite-tiny.bf16.gguf", "v2-lite-tiny"},
                                           GgufGolden{"v2-tiny.bf16.gguf", "v2-tiny"},
                                           GgufGolden{"v3-tiny-bf16.bf16.gguf", "v3-tiny-bf16"},
                                           GgufGolden{"v3-tiny-fp8.f32.gguf", "v3-tiny-fp8"}),
                         [](const auto& param_info) {
                           std::string n = param_info.param.file;
                           for (char& ch : n)
                             if (ch == '-' || ch == '.') ch = '_';
                           return n;
                         });

// The dense fixtures (tests/data/golden-dense): llama.cpp's BF16 and Q8_0 GGUFs of the Qwen2
// and Llama folders against the float64 reference logits and greedy tokens.
struct DenseGguf {
  const char* folder;
  const char* type;  // bf16 | q8_0
  float tolerance;   // max |logit - reference|
};

class DenseGgufTest : public ::testing::TestWithParam<DenseGguf> {};

TEST_P(DenseGgufTest, ReferenceLogitsAndGreedyTokens) {
  const std::string dir = std::string(WHALE_TEST_DATA) + "/golden-dense/" + GetParam().folder;
  const auto model =
      load_gguf_model(dir + "/" + GetParam().folder + "." + GetParam().type + ".gguf");
  check_dense_golden(*model, GetParam().folder, GetParam().tolerance,
                     fmt::format("gguf dense {}.{}", GetParam().folder, GetParam().type));
}

// BF16 GGUFs hold the checkpoint's values exactly: as exact as the safetensors folder, greedy
// tokens identical. Q8_0 rounds weights to 8 bits: whale is 0.19 off there, llama.cpp 0.29.
INSTANTIATE_TEST_SUITE_P(Files, DenseGgufTest,
                         ::testing::Values(DenseGguf{"qwen2-tiny", "bf16", 3e-4f},
                                           DenseGguf{"llama-tiny", "bf16", 3e-4f},
                                           DenseGguf{"qwen2-tiny", "q8_0", 0.25f},
                                           DenseGguf{"llama-tiny", "q8_0", 0.25f}),
                         [](const auto& param_info) {
                           std::string n =
                               std::string(param_info.param.folder) + "_" + param_info.param.type;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// A model split into parts (as gguf-split writes them) opens from its first part and computes
// the same logits as the single file.
TEST(GgufLoad, SplitModelOpensFromItsFirstPart) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("whale-split-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const GgufModel source(gguf_path("v3-tiny-bf16.bf16.gguf"));
  std::vector<std::string> parts;
  {
    GgufWriterOptions options;
    options.max_tensors_per_part = 20;
    GgufWriter w(dir + "/model.gguf", options);
    for (const auto& [key, value] : source.metadata().entries()) w.set(key, value);
    for (const GgufTensor& t : source.tensors())
      w.add_tensor(std::string(t.name), t.dtype, {t.dims().begin(), t.dims().end()});
    for (const GgufTensor& t : source.tensors()) w.write_tensor_data(t.data);
    parts = w.finish();
  }
  ASSERT_EQ(parts.size(), 3u);
  const auto split = load_gguf_model(parts.front());
  const auto single = load_gguf_model(gguf_path("v3-tiny-bf16.bf16.gguf"));
  const auto c = load_cases("v3-tiny-bf16").front();
  const RunOutput a = run_case(*split, c.ids, c.prefill, 2);
  const RunOutput b = run_case(*single, c.ids, c.prefill, 2);
  ASSERT_EQ(a.logits.size(), b.logits.size());
  EXPECT_EQ(std::memcmp(a.logits.data(), b.logits.data(), a.logits.size() * 4), 0);
  std::filesystem::remove_all(dir);
}

TEST(GgufLoad, UnknownArchitectureIsNamed) {
  // A vocabulary-only GGUF of another architecture is refused by name.
  try {
    (void)load_gguf_model(gguf_path("v3-tiny-bf16.bf16.gguf") + ".missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(".missing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace whale
