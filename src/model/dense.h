// Dense decoder-only transformers of the Qwen2 and Llama families (the DeepSeek-R1-Distill
// models): per layer RMSNorm -> grouped-query attention with rotary positions -> residual ->
// RMSNorm -> SwiGLU MLP -> residual. The model is built from a DenseConfig and plain weights;
// which file format and tensor names they came from is the loader's business
// (model/dense_loader.h), so safetensors folders and GGUF files share this forward pass.
#pragma once

#include <memory>
#include <vector>

#include "io/dense_config.h"
#include "io/tensor_source.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "model/rope.h"

namespace whale {

// Shapes use H = hidden_size, nh / nkv = attention / KV heads, d = head_dim,
// F = intermediate_size, V = vocab_size.
struct DenseLayerWeights {
  std::vector<float> attn_norm;  // [H]
  WeightMatrix q;                // [nh*d, H]
  WeightMatrix k;                // [nkv*d, H]
  WeightMatrix v;                // [nkv*d, H]
  WeightMatrix o;                // [H, nh*d]
  std::vector<float> q_bias;     // [nh*d], empty without
  std::vector<float> k_bias;     // [nkv*d], empty without
  std::vector<float> v_bias;     // [nkv*d], empty without
  std::vector<float> o_bias;     // [H], empty without
  std::vector<float> ffn_norm;   // [H]
  WeightMatrix gate;             // [F, H]
  WeightMatrix up;               // [F, H]
  WeightMatrix down;             // [H, F]
};

struct DenseWeights {
  WeightMatrix embed;             // [V, H]
  std::vector<float> final_norm;  // [H]
  WeightMatrix lm_head;           // [V, H]; the embedding itself when tied
  std::vector<DenseLayerWeights> layers;
  RopePairing rope_pairing = RopePairing::kHalf;  // how q/k rows are laid out
  // [d/2] divisors of the RoPE frequencies (a GGUF's rope_freqs.weight: llama3 scaling as
  // llama.cpp stores it); empty: the config's rope_scaling applies.
  std::vector<float> rope_freq_factors;
};

class DenseModel final : public Model {
 public:
  // `weights` view memory that `source` owns (memory-mapped files); the model keeps it alive.
  DenseModel(DenseConfig config, DenseWeights weights, std::shared_ptr<const TensorSource> source);

  const ModelSummary& summary() const override { return summary_; }
  PrefaultStats prefault(const RereadNotice& before_reread = {}) const override {
    return source_ ? source_->prefault(before_reread) : PrefaultStats{};
  }
  std::unique_ptr<KvCache> create_cache(std::int32_t max_sequences, std::int64_t capacity,
                                        CacheDType dtype) const override;
  void forward(std::span<const BatchToken> batch, KvCache& cache, ThreadPool& pool,
               const ForwardOptions& options, ForwardResult& result) override;

  const DenseConfig& config() const { return config_; }
  const DenseWeights& weights() const { return weights_; }
  const TensorSource& source() const { return *source_; }

 private:
  void attention(std::int64_t layer, std::span<const BatchToken> batch, LatentKvCache& cache,
                 ThreadPool& pool);
  void mlp(std::int64_t layer, std::int64_t n_tokens, ThreadPool& pool);

  DenseConfig config_;
  DenseWeights weights_;
  std::shared_ptr<const TensorSource> source_;
  ModelSummary summary_;
  std::vector<double> inv_freq_;  // [d/2]

  // Activations of the current batch, reused across calls (grown, never shrunk).
  struct Buffers {
    std::vector<float> hidden;                // [T, H]   residual stream
    std::vector<float> normed;                // [T, H]
    std::vector<float> q;                     // [T, nh*d]
    std::vector<float> k;                     // [T, nkv*d]
    std::vector<float> v;                     // [T, nkv*d]
    std::vector<float> kv_row;                // [2*nkv*d] one cache row: keys, then values
    std::vector<float> attn_out;              // [T, nh*d]
    std::vector<float> proj;                  // [T, H]
    std::vector<float> ffn_a;                 // [T, F]
    std::vector<float> ffn_b;                 // [T, F]
    std::vector<float> rope_cos;              // [T, d/2]
    std::vector<float> rope_sin;              // [T, d/2]
    std::vector<std::int64_t> next_position;  // [sequences] batch validation
    std::vector<MatmulChunk> chunks;          // work list of matmul_same_input
  } buf_;
};

}  // namespace whale
