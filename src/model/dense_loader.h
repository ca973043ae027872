// Building a DenseModel from any TensorSource. The tensor names of each file layout live here,
// as a DenseTensorNaming, never in the forward pass:
//
//   safetensors folder (Hugging Face):  model.layers.3.self_attn.q_proj.weight
//   GGUF (llama.cpp):                   blk.3.attn_q.weight
//
// A GGUF loader passes gguf_dense_naming() and its own TensorSource (shapes in PyTorch order,
// see io/tensor_source.h) to bind_dense_weights, plus the RoPE pairing of its layout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/dense_config.h"
#include "io/tensor_source.h"
#include "model/dense.h"
#include "model/gguf_names.h"

namespace whale {

// The first three are global (their layer argument is ignored), the rest per layer.
enum class DenseTensor {
  kEmbed,
  kFinalNorm,
  kLmHead,
  kAttnNorm,
  kQ,
  kK,
  kV,
  kO,
  kQBias,
  kKBias,
  kVBias,
  kOBias,
  kFfnNorm,
  kGate,
  kUp,
  kDown,
};

struct DenseTensorNaming {
  std::function<std::string(DenseTensor, std::int64_t layer)> name;
  // Tensors a source may hold that the model recomputes or ignores (name suffixes).
  std::vector<std::string> ignored_suffixes;
  // GGUF files drop output.weight when the head is tied; HF configs say so explicitly.
  bool missing_head_means_tied = false;
  RopePairing rope_pairing = RopePairing::kHalf;
};

DenseTensorNaming hf_dense_naming();
// llama.cpp's names (model/gguf_names.h) for a qwen2 or llama GGUF; RoPE pairs are adjacent for
// llama (its converter permutes q/k rows), halves for qwen2 (NEOX rotation).
DenseTensorNaming gguf_dense_naming(GgufArch arch);

// Binds every tensor the config calls for, checking each one's shape and dtype, and rejects
// tensors left over. Throws whale::Error naming the source, the tensor and what was expected.
DenseWeights bind_dense_weights(const DenseConfig& config, const TensorSource& source,
                                const DenseTensorNaming& naming);

// A Hugging Face folder: config.json (model_type qwen2 or llama) plus safetensors.
std::unique_ptr<DenseModel> load_dense_folder(const std::string& folder);

}  // namespace whale
