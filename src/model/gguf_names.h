// The one table of tensor names between Hugging Face checkpoints and llama.cpp's GGUF files
// (gguf-py's constants.py / tensor_mapping.py for MODEL_ARCH.DEEPSEEK2, QWEN2 and LLAMA). The
// GGUF loader reads through it (model/gguf_load.cpp, dense_loader.cpp: GGUF name -> HF name)
// and `whale quantize` writes through it (cli/quantize.cpp: HF name -> GGUF name).
//
// Most entries are renames (blk.3.attn_q.weight <-> model.layers.3.self_attn.q_proj.weight).
// deepseek2 has two other forms:
//   stacked experts: blk.N.ffn_gate_exps.weight [cols, rows, E] holds
//     model.layers.N.mlp.experts.E.gate_proj.weight for every E (HF name pattern with "{}");
//   split kv_b_proj: blk.N.attn_k_b.weight / attn_v_b.weight are the per-head key and value
//     halves of model.layers.N.self_attn.kv_b_proj.weight, known to whale's DeepSeekModel as
//     self_attn.k_b_proj.weight / v_b_proj.weight. The combined attn_kv_b.weight (older files)
//     is a plain rename of kv_b_proj.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace whale {

enum class GgufArch { kDeepSeek2, kQwen2, kLlama };

// general.architecture: "deepseek2", "qwen2", "llama".
std::string_view gguf_arch_name(GgufArch arch);
std::optional<GgufArch> gguf_arch_from_name(std::string_view name);

enum class GgufTensorForm {
  kRename,          // the same tensor under another name
  kStackedExperts,  // all routed experts of one projection, stacked
  kKeyB,            // kv_b_proj's key rows per head, transposed: GGML [dn, rkv, nh]
  kValueB,          // kv_b_proj's value rows per head: GGML [rkv, dv, nh]
};

struct GgufTensorName {
  GgufTensorForm form = GgufTensorForm::kRename;
  std::string gguf;          // "blk.3.ffn_up_exps.weight"
  std::string hf;            // "model.layers.3.mlp.experts.{}.up_proj.weight" ({} for experts)
  std::int64_t layer = -1;   // -1 for tensors outside the blocks
  std::int64_t expert = -1;  // the expert an HF name named (find_hf_tensor_name), else -1
};

// The entry of a GGUF name, or nullopt if `arch` has no such tensor.
std::optional<GgufTensorName> find_gguf_tensor_name(GgufArch arch, std::string_view gguf_name);
// The entry of an HF name (one expert's name gives the stacked tensor), or nullopt.
std::optional<GgufTensorName> find_hf_tensor_name(GgufArch arch, std::string_view hf_name);
// The HF name of expert `expert` in a kStackedExperts entry.
std::string hf_expert_tensor_name(const GgufTensorName& stacked, std::int64_t expert);

// N of "blk.N.anything", or nullopt.
std::optional<std::int64_t> gguf_block_index(std::string_view gguf_name);

// llama.cpp's Llama 3 RoPE scaling, stored as tensor rope_freqs.weight (no HF counterpart).
inline constexpr std::string_view kGgufRopeFreqs = "rope_freqs.weight";

}  // namespace whale
