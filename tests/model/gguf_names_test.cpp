// The name table between Hugging Face checkpoints and llama.cpp's GGUF files.
#include "model/gguf_names.h"

#include <gtest/gtest.h>

namespace whale {
namespace {

// Reading and writing go through the same entries, so every name maps back to itself.
TEST(GgufNamesTest, EveryRenameRoundTrips) {
  const std::pair<GgufArch, const char*> cases[] = {
      {GgufArch::kDeepSeek2, "model.layers.7.self_attn.kv_a_proj_with_mqa.weight"},
      {GgufArch::kDeepSeek2, "model.layers.2.mlp.gate.e_score_correction_bias"},
      {GgufArch::kDeepSeek2, "model.layers.2.mlp.shared_experts.down_proj.weight"},
      {GgufArch::kQwen2, "model.layers.11.self_attn.k_proj.bias"},
      {GgufArch::kLlama, "model.layers.0.self_attn.o_proj.weight"},
      {GgufArch::kLlama, "lm_head.weight"},
      {GgufArch::kQwen2, "model.embed_tokens.weight"},
  };
  for (const auto& [arch, hf] : cases) {
    const auto to_gguf = find_hf_tensor_name(arch, hf);
    ASSERT_TRUE(to_gguf) << hf;
    const auto back = find_gguf_tensor_name(arch, to_gguf->gguf);
    ASSERT_TRUE(back) << to_gguf->gguf;
    EXPECT_EQ(back->hf, hf);
    EXPECT_EQ(back->form, GgufTensorForm::kRename);
  }
  EXPECT_EQ(find_hf_tensor_name(GgufArch::kQwen2, "model.layers.11.self_attn.k_proj.bias")->gguf,
            "blk.11.attn_k.bias");
  EXPECT_EQ(find_gguf_tensor_name(GgufArch::kLlama, "output.weight")->layer, -1);
}

TEST(GgufNamesTest, ExpertsStackAndKvBSplits) {
  const auto e =
      find_hf_tensor_name(GgufArch::kDeepSeek2, "model.layers.3.mlp.experts.17.up_proj.weight");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->form, GgufTensorForm::kStackedExperts);
  EXPECT_EQ(e->gguf, "blk.3.ffn_up_exps.weight");
  EXPECT_EQ(e->layer, 3);
  EXPECT_EQ(e->expert, 17);
  const auto stacked = find_gguf_tensor_name(GgufArch::kDeepSeek2, "blk.3.ffn_down_exps.weight");
  ASSERT_TRUE(stacked);
  EXPECT_EQ(hf_expert_tensor_name(*stacked, 5), "model.layers.3.mlp.experts.5.down_proj.weight");

  EXPECT_EQ(find_gguf_tensor_name(GgufArch::kDeepSeek2, "blk.1.attn_k_b.weight")->form,
            GgufTensorForm::kKeyB);
  EXPECT_EQ(find_gguf_tensor_name(GgufArch::kDeepSeek2, "blk.1.attn_v_b.weight")->hf,
            "model.layers.1.self_attn.v_b_proj.weight");
  EXPECT_EQ(find_gguf_tensor_name(GgufArch::kDeepSeek2, "blk.1.attn_kv_b.weight")->hf,
            "model.layers.1.self_attn.kv_b_proj.weight");
}

TEST(GgufNamesTest, NamesOutsideAnArchitectureAreUnknown) {
  EXPECT_FALSE(find_gguf_tensor_name(GgufArch::kDeepSeek2, "blk.0.attn_k.weight"));
  EXPECT_FALSE(find_gguf_tensor_name(GgufArch::kLlama, "blk.0.ffn_gate_exps.weight"));
  EXPECT_FALSE(find_hf_tensor_name(GgufArch::kQwen2, "model.layers.0.mlp.gate.weight"));
  EXPECT_FALSE(find_hf_tensor_name(GgufArch::kLlama, "model.layers.x.mlp.up_proj.weight"));
  EXPECT_FALSE(find_hf_tensor_name(GgufArch::kDeepSeek2,
                                   "model.layers.0.mlp.experts.1.up_proj.weight.extra"));
  EXPECT_FALSE(find_gguf_tensor_name(GgufArch::kQwen2, "blk.0.attn_q"));
  EXPECT_EQ(gguf_block_index("blk.12.attn_q.weight"), 12);
  EXPECT_FALSE(gguf_block_index("output.weight"));
  EXPECT_EQ(gguf_arch_from_name("qwen2"), GgufArch::kQwen2);
  EXPECT_FALSE(gguf_arch_from_name("mistral"));
}

}  // namespace
}  // namespace whale
