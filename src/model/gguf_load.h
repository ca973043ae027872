// Opening a GGUF file as a model. general.architecture "deepseek2" (DeepSeek-V2 / V2-Lite / V3 /
// R1 as llama.cpp's converter writes them: the split attn_k_b / attn_v_b form of kv_b_proj or
// the older combined attn_kv_b, experts stacked per layer, nextn MTP tensors ignored) runs on
// DeepSeekModel; the GGUF's tensors are presented under Hugging Face names and shapes and used
// in place, in their stored format.
#pragma once

#include <memory>
#include <string>

#include "io/deepseek_config.h"
#include "io/dense_config.h"
#include "io/gguf.h"
#include "io/tensor_source.h"
#include "model/model.h"

namespace whale {

// The DeepSeekConfig a deepseek2 GGUF's metadata describes. GGUF does not store the routing
// method: sigmoid gating with a correction bias is noaux_tc (V3), softmax with expert groups
// group_limited_greedy (V2, best expert per group as DeepSeek's reference scores groups),
// otherwise greedy. YaRN's mscale is taken equal to mscale_all_dim (rope.scaling.
// yarn_log_multiplier / 0.1), as in every released DeepSeek config. Throws whale::Error naming
// the file and the key.
DeepSeekConfig deepseek_config_from_gguf(const GgufMetadata& metadata, bool has_correction_bias);

// A deepseek2 GGUF's tensors under Hugging Face names, PyTorch shapes ([rows, cols]); stacked
// experts become one view per expert; attn_k_b / attn_v_b become
// model.layers.N.self_attn.k_b_proj.weight [nh*rkv, dn] and v_b_proj.weight [nh*dv, rkv].
// Unknown tensor names fail, naming them.
std::shared_ptr<const TensorSource> deepseek_gguf_source(std::shared_ptr<const GgufModel> gguf,
                                                         const DeepSeekConfig& config);

// The DenseConfig of a qwen2 or llama GGUF (`arch`). Llama 3's RoPE scaling is not metadata in
// GGUF but the tensor rope_freqs.weight, which the loader applies (DenseWeights).
DenseConfig dense_config_from_gguf(const GgufMetadata& metadata, const std::string& arch,
                                   bool has_qkv_bias, bool has_output);

// A model from a GGUF file (the first part of a split one): deepseek2, qwen2 or llama.
std::unique_ptr<Model> load_gguf_model(const std::string& path);

}  // namespace whale
