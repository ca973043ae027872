#include "model/gguf_load.h"

#include <cstring>
#include <map>

#include "io/dense_config.h"
#include "model/deepseek.h"
#include "model/dense.h"
#include "model/dense_loader.h"
#include "model/gguf_names.h"
#include "util/error.h"

namespace whale {
namespace {

// The tensors of a GGUF file under the names a model binds, owned here; subclasses fill owned_
// in their constructor and call index() at its end.
class GgufSourceBase : public TensorSource {
 public:
  const std::string& origin() const override { return origin_; }
  const TensorInfo* find(const std::string& name) const override {
    const auto it = owned_.find(name);
    return it == owned_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, const TensorInfo*>& tensors() const override { return index_; }
  PrefaultStats prefault(const RereadNotice& before_reread) const override {
    return gguf_->prefault(before_reread);
  }

 protected:
  explicit GgufSourceBase(std::shared_ptr<const GgufModel> gguf)
      : gguf_(std::move(gguf)), origin_(gguf_->path()) {}
  void index() {
    for (const auto& [name, info] : owned_) index_.emplace(name, &info);
  }

  std::shared_ptr<const GgufModel> gguf_;
  std::string origin_;
  std::map<std::string, TensorInfo> owned_;

 private:
  std::map<std::string, const TensorInfo*> index_;
};

class GgufDeepSeekSource final : public GgufSourceBase {
 public:
  GgufDeepSeekSource(std::shared_ptr<const GgufModel> gguf, const DeepSeekConfig& c)
      : GgufSourceBase(std::move(gguf)) {
    const std::int64_t nh = c.num_attention_heads, rkv = c.kv_lora_rank, dn = c.qk_nope_head_dim,
                       dv = c.v_head_dim;
    for (const GgufTensor& t : gguf_->tensors()) {
      const std::string name(t.name);
      std::vector<std::int64_t> shape(t.dims().rbegin(), t.dims().rend());  // PyTorch order
      const auto add = [&](const std::string& hf, std::vector<std::int64_t> hf_shape,
                           std::span<const std::uint8_t> data) {
        TensorInfo info;
        info.name = hf;
        info.dtype = t.dtype;
        info.shape = std::move(hf_shape);
        info.data = data;
        info.file = gguf_->part_path(t.part);
        if (!owned_.emplace(hf, std::move(info)).second)
          fail("{}: tensor '{}' maps to '{}', which another tensor already gave", origin_, name,
               hf);
      };
      if (const auto layer = gguf_block_index(name);
          layer && (*layer >= c.num_hidden_layers || name.find(".nextn.") != std::string::npos))
        continue;  // multi-token prediction: not used for decoding
      const auto entry = find_gguf_tensor_name(GgufArch::kDeepSeek2, name);
      if (!entry) unknown(name);
      switch (entry->form) {
        case GgufTensorForm::kRename:
          add(entry->hf, shape, t.data);
          break;
        case GgufTensorForm::kKeyB:
        case GgufTensorForm::kValueB: {
          // [nh, rkv, dn] / [nh, dv, rkv] in PyTorch order, flattened to 2-D row blocks per head.
          const bool k = entry->form == GgufTensorForm::kKeyB;
          const std::vector<std::int64_t> want =
              k ? std::vector<std::int64_t>{nh, rkv, dn} : std::vector<std::int64_t>{nh, dv, rkv};
          if (shape != want)
            fail("{}: tensor '{}' has GGML shape {}, expected {} from the metadata", origin_, name,
                 t.shape_string(), fmt::format("[{}, {}, {}]", want[2], want[1], want[0]));
          add(entry->hf, {want[0] * want[1], want[2]}, t.data);
          break;
        }
        case GgufTensorForm::kStackedExperts: {
          // [E, rows, cols]: one [rows, cols] view per expert.
          if (shape.size() != 3) unknown_shape(name, t);
          const std::uint64_t per_expert = t.data.size() / static_cast<std::uint64_t>(shape[0]);
          for (std::int64_t e = 0; e < shape[0]; ++e)
            add(hf_expert_tensor_name(*entry, e), {shape[1], shape[2]},
                t.data.subspan(static_cast<std::size_t>(e) * per_expert, per_expert));
          break;
        }
      }
    }
    index();
  }

 private:
  [[noreturn]] void unknown(const std::string& name) const {
    fail("{}: tensor '{}' is not part of a deepseek2 model as llama.cpp writes it", origin_, name);
  }
  [[noreturn]] void unknown_shape(const std::string& name, const GgufTensor& t) const {
    fail("{}: tensor '{}' has GGML shape {}, expected 3 dims [cols, rows, experts]", origin_, name,
         t.shape_string());
  }
};

// A GGUF's tensors under their own names, shapes reversed to PyTorch order.
class GgufPlainSource final : public GgufSourceBase {
 public:
  explicit GgufPlainSource(std::shared_ptr<const GgufModel> gguf)
      : GgufSourceBase(std::move(gguf)) {
    for (const GgufTensor& t : gguf_->tensors()) {
      TensorInfo info;
      info.name = std::string(t.name);
      info.dtype = t.dtype;
      info.shape.assign(t.dims().rbegin(), t.dims().rend());
      info.data = t.data;
      info.file = gguf_->part_path(t.part);
      owned_.emplace(info.name, std::move(info));
    }
    index();
  }
};

}  // namespace

DenseConfig dense_config_from_gguf(const GgufMetadata& m, const std::string& arch,
                                   bool has_qkv_bias, bool has_output) {
  const std::string a = arch + ".";
  const auto u = [&](const char* key) { return static_cast<std::int64_t>(m.get_u64(a + key)); };
  DenseConfig c;
  c.model_type = arch;
  c.hidden_size = u("embedding_length");
  c.intermediate_size = u("feed_forward_length");
  c.num_hidden_layers = u("block_count");
  c.num_attention_heads = u("attention.head_count");
  c.num_key_value_heads =
      static_cast<std::int64_t>(m.find_u64(a + "attention.head_count_kv")
                                    .value_or(static_cast<std::uint64_t>(c.num_attention_heads)));
  if (c.num_attention_heads <= 0)
    fail("{}: {}attention.head_count is 0, expected a positive count", m.file(), a);
  c.head_dim = static_cast<std::int64_t>(
      m.find_u64(a + "attention.key_length")
          .value_or(static_cast<std::uint64_t>(c.hidden_size / c.num_attention_heads)));
  c.rms_norm_eps = m.get_f64(a + "attention.layer_norm_rms_epsilon");
  c.rope_theta = m.find_f32(a + "rope.freq_base").value_or(10000.0f);
  c.max_position_embeddings = u("context_length");
  c.vocab_size = static_cast<std::int64_t>(m.find_u64(a + "vocab_size").value_or(0));
  if (c.vocab_size == 0 && m.contains("tokenizer.ggml.tokens"))
    c.vocab_size = static_cast<std::int64_t>(m.get_string_array("tokenizer.ggml.tokens").size());
  c.qkv_bias = arch == "qwen2" || has_qkv_bias;
  c.tie_word_embeddings = !has_output;
  if (const auto bos = m.find_i64("tokenizer.ggml.bos_token_id")) c.bos_token_id = *bos;
  if (const auto eos = m.find_i64("tokenizer.ggml.eos_token_id")) c.eos_token_ids = {*eos};
  // The checks config.json gets, through the JSON form.
  return parse_dense_config(dense_config_to_json(c), m.file() + " (" + arch + " metadata)");
}

DeepSeekConfig deepseek_config_from_gguf(const GgufMetadata& m, bool has_correction_bias) {
  const std::string a = "deepseek2.";
  const auto u = [&](const char* key) { return static_cast<std::int64_t>(m.get_u64(a + key)); };
  const auto u_or = [&](const char* key, std::int64_t fallback) {
    const auto v = m.find_u64(a + key);
    return v ? static_cast<std::int64_t>(*v) : fallback;
  };
  DeepSeekConfig c;
  c.hidden_size = u("embedding_length");
  c.num_hidden_layers = u("block_count");
  c.intermediate_size = u("feed_forward_length");
  c.num_attention_heads = u("attention.head_count");
  c.num_key_value_heads = c.num_attention_heads;
  c.max_position_embeddings = u("context_length");
  c.rms_norm_eps = m.get_f64(a + "attention.layer_norm_rms_epsilon");
  c.rope_theta = m.find_f32(a + "rope.freq_base").value_or(10000.0f);
  c.qk_rope_head_dim = u("rope.dimension_count");
  if (const auto q = m.find_u64(a + "attention.q_lora_rank"); q && *q > 0)
    c.q_lora_rank = static_cast<std::int64_t>(*q);
  c.kv_lora_rank = u("attention.kv_lora_rank");
  // Split form: key_length_mla = dn + dr, value_length_mla = dv; combined: key_length,
  // value_length.
  const std::int64_t key = u_or("attention.key_length_mla", u("attention.key_length"));
  c.v_head_dim = u_or("attention.value_length_mla", u("attention.value_length"));
  c.qk_nope_head_dim = key - c.qk_rope_head_dim;
  if (c.qk_nope_head_dim <= 0)
    fail("{}: {}attention.key_length {} is not above rope.dimension_count {}", m.file(), a, key,
         c.qk_rope_head_dim);
  c.vocab_size = u_or("vocab_size", 0);
  if (c.vocab_size == 0 && m.contains("tokenizer.ggml.tokens"))
    c.vocab_size = static_cast<std::int64_t>(m.get_string_array("tokenizer.ggml.tokens").size());
  c.first_k_dense_replace = u_or("leading_dense_block_count", 0);
  if (const auto experts = m.find_u64(a + "expert_count"); experts && *experts > 0) {
    c.n_routed_experts = static_cast<std::int64_t>(*experts);
    c.moe_intermediate_size = u("expert_feed_forward_length");
    c.n_shared_experts = u_or("expert_shared_count", 0);
    c.num_experts_per_tok = u("expert_used_count");
    c.n_group = u_or("expert_group_count", 1);
    c.topk_group = u_or("expert_group_used_count", 1);
    c.routed_scaling_factor = m.find_f32(a + "expert_weights_scale").value_or(1.0f);
    c.norm_topk_prob = m.find_bool(a + "expert_weights_norm").value_or(false);
    const std::int64_t gating = u_or("expert_gating_func", 1);
    if (gating != 1 && gating != 2)
      fail("{}: {}expert_gating_func is {}, expected 1 (softmax) or 2 (sigmoid)", m.file(), a,
           gating);
    c.scoring_func = gating == 2 ? ScoringFunc::kSigmoid : ScoringFunc::kSoftmax;
    if (c.scoring_func == ScoringFunc::kSigmoid && has_correction_bias)
      c.topk_method = TopkMethod::kNoauxTc;
    else if (c.n_group > 1)
      c.topk_method = TopkMethod::kGroupLimitedGreedy;
    else
      c.topk_method = TopkMethod::kGreedy;
  }
  c.model_type = c.scoring_func == ScoringFunc::kSigmoid ? "deepseek_v3" : "deepseek_v2";
  if (const auto type = m.find_string(a + "rope.scaling.type"); type && *type != "none") {
    if (*type != "yarn")
      fail("{}: {}rope.scaling.type is \"{}\", expected \"yarn\" or \"none\"", m.file(), a, *type);
    YarnScaling y;
    y.factor = m.get_f64(a + "rope.scaling.factor");
    y.original_max_position_embeddings = u("rope.scaling.original_context_length");
    y.beta_fast = m.find_f32(a + "rope.scaling.yarn_beta_fast").value_or(32.0f);
    y.beta_slow = m.find_f32(a + "rope.scaling.yarn_beta_slow").value_or(1.0f);
    // yarn_log_multiplier = 0.1 * mscale_all_dim (stored as f32).
    y.mscale_all_dim = 10.0 * m.find_f32(a + "rope.scaling.yarn_log_multiplier").value_or(0.0f);
    y.mscale = y.mscale_all_dim;
    c.rope_scaling = y;
  }
  if (const auto bos = m.find_i64("tokenizer.ggml.bos_token_id")) c.bos_token_id = *bos;
  if (const auto eos = m.find_i64("tokenizer.ggml.eos_token_id")) c.eos_token_id = *eos;
  // The checks config.json gets: through the JSON form, so every range rule applies alike.
  return parse_deepseek_config(deepseek_config_to_json(c), m.file() + " (deepseek2 metadata)");
}

std::shared_ptr<const TensorSource> deepseek_gguf_source(std::shared_ptr<const GgufModel> gguf,
                                                         const DeepSeekConfig& config) {
  return std::make_shared<GgufDeepSeekSource>(std::move(gguf), config);
}

std::unique_ptr<Model> load_gguf_model(const std::string& path) {
  auto gguf = std::make_shared<const GgufModel>(path);
  const GgufMetadata& m = gguf->metadata();
  const std::string_view arch = m.get_string("general.architecture");
  if (arch == "deepseek2") {
    bool bias = false;
    for (const GgufTensor& t : gguf->tensors())
      if (t.name.ends_with(".exp_probs_b.bias")) bias = true;
    DeepSeekConfig config = deepseek_config_from_gguf(m, bias);
    auto source = deepseek_gguf_source(gguf, config);
    return std::make_unique<DeepSeekModel>(std::move(config), std::move(source));
  }
  if (arch == "qwen2" || arch == "llama") {
    const std::string a(arch);
    const DenseConfig config =
        dense_config_from_gguf(m, a, gguf->find_tensor("blk.0.attn_q.bias") != nullptr,
                               gguf->find_tensor("output.weight") != nullptr);
    auto source = std::make_shared<const GgufPlainSource>(gguf);
    DenseWeights weights =
        bind_dense_weights(config, *source, gguf_dense_naming(*gguf_arch_from_name(arch)));
    if (const GgufTensor* f = gguf->find_tensor(kGgufRopeFreqs)) {
      if (f->dtype != DType::kF32 || f->n_dims != 1)
        fail("{}: tensor 'rope_freqs.weight' is {} {}, expected F32 [{}]", path,
             dtype_name(f->dtype), f->shape_string(), config.head_dim / 2);
      weights.rope_freq_factors.resize(static_cast<std::size_t>(f->ne[0]));
      std::memcpy(weights.rope_freq_factors.data(), f->data.data(), f->data.size());
    }
    return std::make_unique<DenseModel>(config, std::move(weights), std::move(source));
  }
  fail("{}: general.architecture is \"{}\"; whale runs deepseek2, qwen2 and llama GGUF files", path,
       arch);
}

}  // namespace whale
