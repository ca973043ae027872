// DeepSeek-V2 / V2-Lite / V3 / R1 / V3.1: MLA attention over a latent cache, DeepSeekMoE with
// shared experts, YaRN RoPE. Weights are views into the memory-mapped checkpoint, used in
// their stored format (F32, BF16, F16, or F8_E4M3 with block scales).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/deepseek_config.h"
#include "io/tensor_source.h"
#include "kernels/matmul.h"
#include "model/model.h"
#include "model/rope.h"
#include "model/router.h"

namespace whale {

struct MlaWeights {
  std::optional<WeightMatrix> q_proj;    // [nh*dq, H]      without q-LoRA (V2-Lite)
  std::optional<WeightMatrix> q_a_proj;  // [rq, H]         with q-LoRA
  std::vector<float> q_a_norm;           // [rq]
  std::optional<WeightMatrix> q_b_proj;  // [nh*dq, rq]
  WeightMatrix kv_a_proj;                // [rkv + dr, H]   latent, then the shared rope key
  std::vector<float> kv_a_norm;          // [rkv]
  // Up-projections of the latent, in one of two layouts:
  std::optional<WeightMatrix> kv_b_proj;  // [nh*(dn + dv), rkv]  per head: dn k rows, dv v rows
  std::optional<WeightMatrix> k_b;        // [nh*rkv, dn]  per head W_UKᵀ (llama.cpp's attn_k_b)
  std::optional<WeightMatrix> v_b;        // [nh*dv, rkv]  per head W_UV (attn_v_b)
  WeightMatrix o_proj;                    // [H, nh*dv]
};

struct MlpWeights {
  WeightMatrix gate;  // [F, H]
  WeightMatrix up;    // [F, H]
  WeightMatrix down;  // [H, F]
};

struct MoeWeights {
  WeightMatrix router;                 // [E, H]
  std::vector<float> correction_bias;  // [E], noaux_tc only
  std::vector<MlpWeights> experts;     // E experts of width Fm
  std::optional<MlpWeights> shared;    // one MLP of width n_shared * Fm
};

struct LayerWeights {
  std::vector<float> attn_norm;  // [H] input_layernorm
  std::vector<float> ffn_norm;   // [H] post_attention_layernorm
  MlaWeights attn;
  std::optional<MlpWeights> dense;
  std::optional<MoeWeights> moe;
};

struct DeepSeekWeights {
  WeightMatrix embed;             // [V, H]
  std::vector<float> final_norm;  // [H]
  WeightMatrix lm_head;           // [V, H]
  std::vector<LayerWeights> layers;
  // Multi-token-prediction modules (model.layers.{L + j}.*), recognised and kept for
  // speculative decoding later; the main model never reads them.
  std::vector<std::map<std::string, const TensorInfo*>> mtp_layers;
};

// How MLA attends for a batch (docs section 4.3). Absorbed: queries moved into the latent space,
// scores and outputs over the cached latent rows (cost per query and cached row ~ nh (2 rkv +
// dr)); the only form for decoding. Expanded: every cached row expanded to per-head keys and
// values once per call (nh (dn + dv) rkv per row), then blocked attention at nh (dn + dr + dv)
// per pair; cheaper for prefill, where many queries share the rows.
enum class MlaForm { kAuto, kAbsorbed, kExpanded };

class DeepSeekModel final : public Model {
 public:
  // Opens the folder, validates every tensor against the config. Throws whale::Error naming
  // the file and tensor at fault.
  explicit DeepSeekModel(const std::string& folder);
  // The same from any tensor source holding Hugging Face tensor names and shapes (a GGUF file
  // presents itself so, see model/gguf_load.h), with the split k_b_proj / v_b_proj form of
  // kv_b_proj accepted too.
  DeepSeekModel(DeepSeekConfig config, std::shared_ptr<const TensorSource> source);

  const ModelSummary& summary() const override { return summary_; }
  PrefaultStats prefault(const RereadNotice& before_reread = {}) const override {
    return source_->prefault(before_reread);
  }
  std::unique_ptr<KvCache> create_cache(std::int32_t max_sequences, std::int64_t capacity,
                                        CacheDType dtype) const override;
  void forward(std::span<const BatchToken> batch, KvCache& cache, ThreadPool& pool,
               const ForwardOptions& options, ForwardResult& result) override;

  const DeepSeekConfig& config() const { return config_; }
  const DeepSeekWeights& weights() const { return weights_; }
  const TensorSource& source() const { return *source_; }

  // kAuto (the default) takes the form with fewer operations for each batch; the others force
  // one where the batch allows it (tests, benchmarks). Expanded needs a batch of consecutive
  // positions of one sequence.
  void set_mla_form(MlaForm form) { mla_form_ = form; }
  // The form kAuto takes for a batch of `tokens` consecutive positions after `cached` ones.
  bool expanded_is_cheaper(std::int64_t tokens, std::int64_t cached) const;

 private:
  void attention(std::int64_t layer, std::span<const BatchToken> batch, LatentKvCache& cache,
                 ThreadPool& pool);
  void attention_absorbed(std::int64_t layer, std::span<const BatchToken> batch,
                          const LatentKvCache& cache, ThreadPool& pool);
  void attention_expanded(std::int64_t layer, std::span<const BatchToken> batch,
                          const LatentKvCache& cache, ThreadPool& pool);
  void moe(std::int64_t layer, std::span<const BatchToken> batch, ThreadPool& pool,
           std::vector<std::int32_t>* routes);
  void mlp(const MlpWeights& w, const float* x, std::int64_t n, float* out, ThreadPool& pool);
  // One expert MLP over its tokens: x [n, H] -> out [n, H], a and b [n, F] its scratch.
  struct ExpertJob {
    const MlpWeights* w;
    const float* x;
    std::int64_t n;
    float* a;
    float* b;
    float* out;
  };
  void run_expert_jobs(std::span<const ExpertJob> jobs, ThreadPool& pool);

  void bind();  // the constructors' common part

  std::shared_ptr<const TensorSource> source_;
  DeepSeekConfig config_;
  DeepSeekWeights weights_;
  ModelSummary summary_;
  Rope rope_;
  RouterSpec router_;
  MlaForm mla_form_ = MlaForm::kAuto;

  // Activations of the current batch, reused across calls (grown, never shrunk).
  struct Buffers {
    std::vector<float> hidden;                // [T, H]   residual stream
    std::vector<float> normed;                // [T, H]
    std::vector<float> q;                     // [T, nh*dq]
    std::vector<float> rope_cos, rope_sin;    // [T, dr / 2]  each token's RoPE table
    std::vector<float> q_low;                 // [T, rq]
    std::vector<float> kv;                    // [T, rkv + dr]
    std::vector<float> latent;                // [N, rkv]  cached latents, expanded form
    std::vector<float> rope_key;              // [N, dr]   cached rope keys, expanded form
    std::vector<float> attn_out;              // [T, nh*dv]
    std::vector<float> q_cat;                 // [T, nh, rkv + dr]  absorbed queries
    std::vector<float> attn_parts;            // [chunks, nh, rkv + 2]  partial softmaxes
    std::vector<float> proj;                  // [T, H]
    std::vector<float> ffn_a;                 // [T, F]
    std::vector<float> ffn_b;                 // [T, F]
    std::vector<float> router;                // [T, E]
    std::vector<float> gathered;              // [T * top_k, H]  tokens in expert slots
    std::vector<float> expert_out;            // [T * top_k + T, H]  routed, then shared
    std::vector<std::int32_t> chosen;         // [T, k]
    std::vector<float> chosen_w;              // [T, k]
    std::vector<std::int32_t> expert_tokens;  // token slots grouped by expert
    std::vector<float> expert_weights;
    std::vector<std::int64_t> expert_offsets;  // [E + 1]
    std::vector<std::int64_t> expert_fill;     // [E] next free slot per expert
    std::vector<float> route_scratch;          // [4 * E] route_token's working space
    std::vector<ExpertJob> expert_jobs;        // the chosen experts of a MoE layer
    std::vector<MatmulChunk> chunks;           // work list of matmul_same_input
    std::vector<std::int64_t> expert_units;    // [jobs + 1] first row unit of each job
    // Each job's input prepared once per pass ([2 * jobs]: gate, up; or down), and where its
    // quantized form lives.
    std::vector<MatmulInput> expert_inputs;
    std::vector<ActivationStorage> expert_storage;
    std::vector<std::int64_t> next_position;  // [sequences] batch validation
  } buf_;
};

}  // namespace whale
