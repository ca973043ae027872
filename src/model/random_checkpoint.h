// Random-weight DeepSeek checkpoints in the exact Hugging Face layout DeepSeek publishes, for
// tests, benchmarks and demos: named shapes (tiny copies of the golden fixtures, the real
// V2-Lite and V3, a 1.4B V3-shaped benchmark model, a small demo), stored as F32, BF16 or the
// V3 release's block FP8. Weights are a pure function of (seed, tensor name, element index),
// so the bytes never depend on the thread count or on how the work is split.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/deepseek_config.h"
#include "io/dense_config.h"
#include "io/safetensors_writer.h"

namespace whale {

class ThreadPool;

enum class WeightFormat {
  kF32,   // every tensor F32
  kBF16,  // BF16; e_score_correction_bias F32 (as the releases)
  kFp8,   // the V3 release: projections and MLP/expert weights F8_E4M3 + F32 128x128 scales
};

// "f32", "bf16", "fp8"; throws whale::Error listing the valid names.
WeightFormat parse_weight_format(const std::string& name);

// v2-lite-tiny, v2-tiny, v3-tiny, v2-lite, v3, v3-bench, demo.
const std::vector<std::string>& model_shape_names();

// The dense shapes: qwen2-1.5b, qwen2-7b (DeepSeek-R1-Distill-Qwen-1.5B / -7B), llama-8b
// (DeepSeek-R1-Distill-Llama-8B), qwen2-tiny (the golden-dense fixture's shape).
const std::vector<std::string>& dense_model_shape_names();
// nullopt for a name that is not a dense shape.
std::optional<DenseConfig> dense_model_shape(const std::string& name);

// The architecture of a named shape; throws whale::Error listing the valid names.
DeepSeekConfig model_shape(const std::string& name);

// `config` as its config.json says when stored in `format`: torch_dtype, and for kFp8 the
// release's quantization_config (e4m3, dynamic, [128, 128]).
DeepSeekConfig config_for_format(DeepSeekConfig config, WeightFormat format);

// Every tensor of a checkpoint of `config` stored in `format`, sorted by name: the main model,
// then the MTP modules (model.layers.{num_hidden_layers + j}.*) when num_nextn_predict_layers > 0.
std::vector<TensorSpec> random_checkpoint_tensors(const DeepSeekConfig& config,
                                                  WeightFormat format);

// The same for a dense (Qwen2 / Llama) config; `format` must be f32 or bf16.
std::vector<TensorSpec> random_dense_checkpoint_tensors(const DenseConfig& config,
                                                        WeightFormat format);

struct RandomCheckpointOptions {
  WeightFormat format = WeightFormat::kBF16;
  std::uint64_t seed = 0;
  std::uint64_t max_shard_bytes = 5'000'000'000;  // Hugging Face's default "5GB"
  // Write into a folder that is not empty: config.json and model*.safetensors* are replaced,
  // other files (a tokenizer) are kept.
  bool overwrite = false;
  std::function<void(std::uint64_t done_bytes, std::uint64_t total_bytes)> progress;
};

// Writes config.json and the weights of a random checkpoint of `config` into `folder`
// (created if missing). Refuses a non-empty folder unless options.overwrite.
void write_random_checkpoint(const std::string& folder, const DeepSeekConfig& config,
                             const RandomCheckpointOptions& options, ThreadPool& pool);

// Writes a random dense checkpoint (Hugging Face Qwen2 / Llama layout) the same way.
void write_random_dense_checkpoint(const std::string& folder, const DenseConfig& config,
                                   const RandomCheckpointOptions& options, ThreadPool& pool);

}  // namespace whale
