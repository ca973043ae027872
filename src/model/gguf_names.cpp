#include "model/gguf_names.h"

#include <fmt/format.h>

#include <charconv>
#include <span>

namespace whale {
namespace {

enum ArchMask : unsigned {
  kDeepSeek2 = 1u << 0,
  kQwen2 = 1u << 1,
  kLlama = 1u << 2,
  kDense = kQwen2 | kLlama,
  kAll = kDeepSeek2 | kDense,
};

unsigned mask_of(GgufArch arch) {
  switch (arch) {
    case GgufArch::kDeepSeek2:
      return kDeepSeek2;
    case GgufArch::kQwen2:
      return kQwen2;
    case GgufArch::kLlama:
      return kLlama;
  }
  return 0;
}

struct Entry {
  std::string_view gguf;  // whole name, or the part after "blk.N."
  std::string_view hf;    // whole name, or the part after "model.layers.N."
  GgufTensorForm form;
  unsigned archs;
};

constexpr Entry kGlobal[] = {
    {"token_embd.weight", "model.embed_tokens.weight", GgufTensorForm::kRename, kAll},
    {"output_norm.weight", "model.norm.weight", GgufTensorForm::kRename, kAll},
    {"output.weight", "lm_head.weight", GgufTensorForm::kRename, kAll},
};

constexpr Entry kLayer[] = {
    {"attn_norm.weight", "input_layernorm.weight", GgufTensorForm::kRename, kAll},
    {"ffn_norm.weight", "post_attention_layernorm.weight", GgufTensorForm::kRename, kAll},
    {"attn_q.weight", "self_attn.q_proj.weight", GgufTensorForm::kRename, kAll},
    {"attn_output.weight", "self_attn.o_proj.weight", GgufTensorForm::kRename, kAll},
    {"ffn_gate.weight", "mlp.gate_proj.weight", GgufTensorForm::kRename, kAll},
    {"ffn_up.weight", "mlp.up_proj.weight", GgufTensorForm::kRename, kAll},
    {"ffn_down.weight", "mlp.down_proj.weight", GgufTensorForm::kRename, kAll},
    // Dense attention (Qwen2 always has q/k/v biases, Llama with attention_bias also o_proj's).
    {"attn_k.weight", "self_attn.k_proj.weight", GgufTensorForm::kRename, kDense},
    {"attn_v.weight", "self_attn.v_proj.weight", GgufTensorForm::kRename, kDense},
    {"attn_q.bias", "self_attn.q_proj.bias", GgufTensorForm::kRename, kDense},
    {"attn_k.bias", "self_attn.k_proj.bias", GgufTensorForm::kRename, kDense},
    {"attn_v.bias", "self_attn.v_proj.bias", GgufTensorForm::kRename, kDense},
    {"attn_output.bias", "self_attn.o_proj.bias", GgufTensorForm::kRename, kDense},
    // Multi-head latent attention.
    {"attn_q_a.weight", "self_attn.q_a_proj.weight", GgufTensorForm::kRename, kDeepSeek2},
    {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight", GgufTensorForm::kRename, kDeepSeek2},
    {"attn_q_b.weight", "self_attn.q_b_proj.weight", GgufTensorForm::kRename, kDeepSeek2},
    {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight", GgufTensorForm::kRename,
     kDeepSeek2},
    {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight", GgufTensorForm::kRename,
     kDeepSeek2},
    {"attn_kv_b.weight", "self_attn.kv_b_proj.weight", GgufTensorForm::kRename, kDeepSeek2},
    {"attn_k_b.weight", "self_attn.k_b_proj.weight", GgufTensorForm::kKeyB, kDeepSeek2},
    {"attn_v_b.weight", "self_attn.v_b_proj.weight", GgufTensorForm::kValueB, kDeepSeek2},
    // Mixture of experts.
    {"ffn_gate_inp.weight", "mlp.gate.weight", GgufTensorForm::kRename, kDeepSeek2},
    {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias", GgufTensorForm::kRename, kDeepSeek2},
    {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight", GgufTensorForm::kRename,
     kDeepSeek2},
    {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight", GgufTensorForm::kRename,
     kDeepSeek2},
    {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight", GgufTensorForm::kRename,
     kDeepSeek2},
    {"ffn_gate_exps.weight", "mlp.experts.{}.gate_proj.weight", GgufTensorForm::kStackedExperts,
     kDeepSeek2},
    {"ffn_up_exps.weight", "mlp.experts.{}.up_proj.weight", GgufTensorForm::kStackedExperts,
     kDeepSeek2},
    {"ffn_down_exps.weight", "mlp.experts.{}.down_proj.weight", GgufTensorForm::kStackedExperts,
     kDeepSeek2},
};

constexpr std::string_view kGgufBlock = "blk.";
constexpr std::string_view kHfLayer = "model.layers.";

// "PREFIX<digits>.rest": {digits, rest}.
std::optional<std::pair<std::int64_t, std::string_view>> split_index(std::string_view name,
                                                                     std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  std::int64_t index = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.' ||
      index < 0)
    return std::nullopt;
  return std::pair{index, name.substr(static_cast<std::size_t>(end - name.data()) + 1)};
}

// An HF layer suffix against a table pattern; `expert` receives the index at "{}".
bool matches_hf(std::string_view pattern, std::string_view name, std::int64_t& expert) {
  const std::size_t hole = pattern.find("{}");
  if (hole == std::string_view::npos) return pattern == name;
  if (!name.starts_with(pattern.substr(0, hole))) return false;
  const auto parsed = split_index(name, pattern.substr(0, hole));
  if (!parsed) return false;
  expert = parsed->first;
  return pattern.substr(hole + 2) == fmt::format(".{}", parsed->second);
}

}  // namespace

std::string_view gguf_arch_name(GgufArch arch) {
  switch (arch) {
    case GgufArch::kDeepSeek2:
      return "deepseek2";
    case GgufArch::kQwen2:
      return "qwen2";
    case GgufArch::kLlama:
      return "llama";
  }
  return "";
}

std::optional<GgufArch> gguf_arch_from_name(std::string_view name) {
  for (const GgufArch arch : {GgufArch::kDeepSeek2, GgufArch::kQwen2, GgufArch::kLlama})
    if (gguf_arch_name(arch) == name) return arch;
  return std::nullopt;
}

std::optional<std::int64_t> gguf_block_index(std::string_view gguf_name) {
  const auto parsed = split_index(gguf_name, kGgufBlock);
  if (!parsed) return std::nullopt;
  return parsed->first;
}

std::optional<GgufTensorName> find_gguf_tensor_name(GgufArch arch, std::string_view gguf_name) {
  const unsigned mask = mask_of(arch);
  for (const Entry& e : kGlobal)
    if ((e.archs & mask) != 0 && e.gguf == gguf_name)
      return GgufTensorName{e.form, std::string(e.gguf), std::string(e.hf)};
  const auto block = split_index(gguf_name, kGgufBlock);
  if (!block) return std::nullopt;
  for (const Entry& e : kLayer)
    if ((e.archs & mask) != 0 && e.gguf == block->second)
      return GgufTensorName{e.form, std::string(gguf_name),
                            fmt::format("{}{}.{}", kHfLayer, block->first, e.hf), block->first};
  return std::nullopt;
}

std::optional<GgufTensorName> find_hf_tensor_name(GgufArch arch, std::string_view hf_name) {
  const unsigned mask = mask_of(arch);
  for (const Entry& e : kGlobal)
    if ((e.archs & mask) != 0 && e.hf == hf_name)
      return GgufTensorName{e.form, std::string(e.gguf), std::string(e.hf)};
  const auto layer = split_index(hf_name, kHfLayer);
  if (!layer) return std::nullopt;
  for (const Entry& e : kLayer) {
    std::int64_t expert = -1;
    if ((e.archs & mask) != 0 && matches_hf(e.hf, layer->second, expert))
      return GgufTensorName{e.form, fmt::format("{}{}.{}", kGgufBlock, layer->first, e.gguf),
                            fmt::format("{}{}.{}", kHfLayer, layer->first, e.hf), layer->first,
                            expert};
  }
  return std::nullopt;
}

std::string hf_expert_tensor_name(const GgufTensorName& stacked, std::int64_t expert) {
  const std::size_t hole = stacked.hf.find("{}");
  if (hole == std::string::npos) return stacked.hf;
  return fmt::format("{}{}{}", std::string_view(stacked.hf).substr(0, hole), expert,
                     std::string_view(stacked.hf).substr(hole + 2));
}

}  // namespace whale
