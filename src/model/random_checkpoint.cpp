#include "model/random_checkpoint.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "formats/scalar_formats.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/thread_pool.h"

namespace whale {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Named shapes
// ---------------------------------------------------------------------------------------------

namespace {

// What the golden fixtures share (tests/data/golden/README.md, "Config highlights").
DeepSeekConfig golden_tiny(const std::string& model_type) {
  DeepSeekConfig c;
  c.model_type = model_type;
  c.architectures = {model_type == "deepseek_v3" ? "DeepseekV3ForCausalLM"
                                                 : "DeepseekV2ForCausalLM"};
  c.vocab_size = 600;
  c.hidden_size = 128;
  c.intermediate_size = 256;
  c.moe_intermediate_size = 16;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.kv_lora_rank = 96;
  c.qk_nope_head_dim = 32;
  c.qk_rope_head_dim = 16;
  c.v_head_dim = 32;
  c.n_routed_experts = 16;
  c.num_experts_per_tok = 4;
  c.first_k_dense_replace = 1;
  c.moe_layer_freq = 1;
  c.rms_norm_eps = 1e-6;
  c.max_position_embeddings = 163840;
  c.rope_theta = 10000.0;
  c.rope_scaling = YarnScaling{40.0, 4096, 32.0, 1.0, 1.0, 1.0};
  c.bos_token_id = 0;
  c.eos_token_id = 1;
  c.torch_dtype = "bfloat16";
  return c;
}

// The V2 family's routing: softmax scores, no renormalisation, YaRN mscale 0.707.
void v2_routing(DeepSeekConfig& c, TopkMethod method, std::int64_t n_group, std::int64_t topk_group,
                double routed_scaling_factor) {
  c.scoring_func = ScoringFunc::kSoftmax;
  c.topk_method = method;
  c.n_group = n_group;
  c.topk_group = topk_group;
  c.norm_topk_prob = false;
  c.routed_scaling_factor = routed_scaling_factor;
  c.rope_scaling->mscale = 0.707;
  c.rope_scaling->mscale_all_dim = 0.707;
}

// The V3 family's routing: sigmoid scores with correction bias, noaux_tc, renormalised, x2.5.
void v3_routing(DeepSeekConfig& c, std::int64_t n_group, std::int64_t topk_group) {
  c.scoring_func = ScoringFunc::kSigmoid;
  c.topk_method = TopkMethod::kNoauxTc;
  c.n_group = n_group;
  c.topk_group = topk_group;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
}

DeepSeekConfig v2_lite_tiny() {
  DeepSeekConfig c = golden_tiny("deepseek_v2");
  c.q_lora_rank = std::nullopt;
  c.n_shared_experts = 2;
  v2_routing(c, TopkMethod::kGreedy, 1, 1, 1.0);
  return c;
}

DeepSeekConfig v2_tiny() {
  DeepSeekConfig c = golden_tiny("deepseek_v2");
  c.q_lora_rank = 160;
  c.n_shared_experts = 2;
  v2_routing(c, TopkMethod::kGroupLimitedGreedy, 4, 2, 16.0);
  return c;
}

DeepSeekConfig v3_tiny() {
  DeepSeekConfig c = golden_tiny("deepseek_v3");
  c.q_lora_rank = 160;
  c.n_shared_experts = 1;
  c.num_nextn_predict_layers = 1;
  v3_routing(c, 4, 2);
  return c;
}

// DeepSeek-V2-Lite (docs/deepseek-v2-v3.md section 1.1).
DeepSeekConfig v2_lite() {
  DeepSeekConfig c = golden_tiny("deepseek_v2");
  c.vocab_size = 102400;
  c.hidden_size = 2048;
  c.intermediate_size = 10944;
  c.moe_intermediate_size = 1408;
  c.num_hidden_layers = 27;
  c.num_attention_heads = 16;
  c.num_key_value_heads = 16;
  c.q_lora_rank = std::nullopt;
  c.kv_lora_rank = 512;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.v_head_dim = 128;
  c.n_routed_experts = 64;
  c.n_shared_experts = 2;
  c.num_experts_per_tok = 6;
  c.bos_token_id = 100000;
  c.eos_token_id = 100001;
  v2_routing(c, TopkMethod::kGreedy, 1, 1, 1.0);
  return c;
}

// DeepSeek-V3 / R1 (section 1.1), with its MTP module.
DeepSeekConfig v3() {
  DeepSeekConfig c = golden_tiny("deepseek_v3");
  c.vocab_size = 129280;
  c.hidden_size = 7168;
  c.intermediate_size = 18432;
  c.moe_intermediate_size = 2048;
  c.num_hidden_layers = 61;
  c.num_nextn_predict_layers = 1;
  c.num_attention_heads = 128;
  c.num_key_value_heads = 128;
  c.q_lora_rank = 1536;
  c.kv_lora_rank = 512;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.v_head_dim = 128;
  c.n_routed_experts = 256;
  c.n_shared_experts = 1;
  c.num_experts_per_tok = 8;
  c.first_k_dense_replace = 3;
  v3_routing(c, 8, 4);
  return c;
}

// DeepSeek-V3 scaled down for benchmarks: V3's attention geometry and vocabulary, 12 layers,
// 64 experts. 1.37B parameters (2.7 GB in BF16), 415M active per token.
DeepSeekConfig v3_bench() {
  DeepSeekConfig c = v3();
  c.hidden_size = 1536;
  c.intermediate_size = 4096;
  c.moe_intermediate_size = 256;
  c.num_hidden_layers = 12;
  c.num_nextn_predict_layers = 0;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 12;
  c.q_lora_rank = 768;
  c.n_routed_experts = 64;
  c.n_shared_experts = 2;
  c.num_experts_per_tok = 6;
  c.first_k_dense_replace = 1;
  return c;
}

// A small V3-shaped model with the real vocabulary, for demos with a tokenizer: 75.5M
// parameters (66M of them the embedding and lm_head), 144 MiB in BF16, ~100 tokens/s per core.
DeepSeekConfig demo() {
  DeepSeekConfig c = v3();
  c.hidden_size = 256;
  c.intermediate_size = 768;
  c.moe_intermediate_size = 192;
  c.num_hidden_layers = 4;
  c.num_nextn_predict_layers = 0;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.q_lora_rank = 192;
  c.kv_lora_rank = 128;
  c.qk_nope_head_dim = 64;
  c.qk_rope_head_dim = 32;
  c.v_head_dim = 64;
  c.n_routed_experts = 16;
  c.n_shared_experts = 1;
  c.num_experts_per_tok = 4;
  c.first_k_dense_replace = 1;
  v3_routing(c, 4, 2);
  return c;
}

struct NamedShape {
  const char* name;
  DeepSeekConfig (*make)();
};

constexpr NamedShape kShapes[] = {
    {"v2-lite-tiny", v2_lite_tiny},
    {"v2-tiny", v2_tiny},
    {"v3-tiny", v3_tiny},
    {"v2-lite", v2_lite},
    {"v3", v3},
    {"v3-bench", v3_bench},
    {"demo", demo},
};

// The DeepSeek-R1-Distill models' shapes (their config.json), for benchmarks.
DenseConfig qwen2_shape(std::int64_t hidden, std::int64_t layers, std::int64_t heads,
                        std::int64_t kv_heads, std::int64_t intermediate, std::int64_t vocab) {
  DenseConfig c;
  c.model_type = "qwen2";
  c.architectures = {"Qwen2ForCausalLM"};
  c.hidden_size = hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.intermediate_size = intermediate;
  c.vocab_size = vocab;
  c.max_position_embeddings = 131072;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.qkv_bias = true;
  c.bos_token_id = 151643;
  c.eos_token_ids = {151643};
  return c;
}

DenseConfig llama_8b() {
  DenseConfig c;
  c.model_type = "llama";
  c.architectures = {"LlamaForCausalLM"};
  c.hidden_size = 4096;
  c.num_hidden_layers = 32;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.intermediate_size = 14336;
  c.vocab_size = 128256;
  c.max_position_embeddings = 131072;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  c.rope_scaling = Llama3RopeScaling{8.0, 1.0, 4.0, 8192};
  c.bos_token_id = 128000;
  c.eos_token_ids = {128001};
  return c;
}

struct NamedDenseShape {
  const char* name;
  DenseConfig (*make)();
};

constexpr NamedDenseShape kDenseShapes[] = {
    {"qwen2-1.5b", [] { return qwen2_shape(1536, 28, 12, 2, 8960, 151936); }},
    {"qwen2-7b", [] { return qwen2_shape(3584, 28, 28, 4, 18944, 152064); }},
    {"llama-8b", llama_8b},
    // The golden-dense fixtures' shape (tests/data/golden-dense), for tests.
    {"qwen2-tiny", [] { return qwen2_shape(128, 2, 8, 2, 384, 1024); }},
};

}  // namespace

const std::vector<std::string>& dense_model_shape_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& s : kDenseShapes) n.emplace_back(s.name);
    return n;
  }();
  return names;
}

std::optional<DenseConfig> dense_model_shape(const std::string& name) {
  for (const auto& s : kDenseShapes)
    if (name == s.name) return s.make();
  return std::nullopt;
}

const std::vector<std::string>& model_shape_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& s : kShapes) n.emplace_back(s.name);
    return n;
  }();
  return names;
}

DeepSeekConfig model_shape(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) return s.make();
  fail("--shape: unknown model shape '{}' (expected one of: {}, {})", name,
       fmt::join(model_shape_names(), ", "), fmt::join(dense_model_shape_names(), ", "));
}

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "f32") return WeightFormat::kF32;
  if (name == "bf16") return WeightFormat::kBF16;
  if (name == "fp8") return WeightFormat::kFp8;
  fail("--dtype: unknown weight format '{}' (expected one of: f32, bf16, fp8)", name);
}

namespace {
constexpr std::int64_t kFp8Block = 128;  // weight_block_size of the V3 release
}  // namespace

DeepSeekConfig config_for_format(DeepSeekConfig config, WeightFormat format) {
  config.torch_dtype = format == WeightFormat::kF32 ? "float32" : "bfloat16";
  config.quantization.reset();
  if (format == WeightFormat::kFp8) {
    Fp8Quantization q;
    q.block_rows = kFp8Block;
    q.block_cols = kFp8Block;
    config.quantization = q;
  }
  return config;
}

// ---------------------------------------------------------------------------------------------
// Tensors and how each is drawn
// ---------------------------------------------------------------------------------------------

namespace {

enum class Fill {
  kValues,     // mean + stddev * N(0, 1), stored in the tensor's dtype
  kFp8Codes,   // the same values as e4m3 codes of 128x128 blocks ...
  kFp8Scales,  // ... and the blocks' multipliers, amax / 448
};

struct Recipe {
  TensorSpec spec;
  Fill fill = Fill::kValues;
  std::string stream;  // whose random numbers: MTP copies of embed/lm_head share the originals'
  float mean = 0.0f;
  float stddev = 1.0f;
  std::int64_t rows = 1, cols = 1;  // the values as a matrix (for FP8: the weight's shape)
};

class RecipeList {
 public:
  explicit RecipeList(WeightFormat format) : format_(format) {}

  // A norm weight or other vector stored in the checkpoint's dtype.
  void vector(const std::string& name, std::int64_t n, float mean, float stddev) {
    add({{name, float_dtype(), {n}}, Fill::kValues, name, mean, stddev, 1, n});
  }
  // e_score_correction_bias: F32 in every release.
  void f32_vector(const std::string& name, std::int64_t n, float stddev) {
    add({{name, DType::kF32, {n}}, Fill::kValues, name, 0.0f, stddev, 1, n});
  }
  // A [rows, cols] matrix; `fp8` marks the weights the V3 release stores as block FP8.
  void matrix(const std::string& name, std::int64_t rows, std::int64_t cols, float stddev, bool fp8,
              const std::string& stream = "") {
    const std::string s = stream.empty() ? name : stream;
    if (fp8 && format_ == WeightFormat::kFp8) {
      add({{name, DType::kF8E4M3, {rows, cols}}, Fill::kFp8Codes, s, 0.0f, stddev, rows, cols});
      const std::vector<std::int64_t> blocks = {(rows + kFp8Block - 1) / kFp8Block,
                                                (cols + kFp8Block - 1) / kFp8Block};
      add({{name + "_scale_inv", DType::kF32, blocks},
           Fill::kFp8Scales,
           s,
           0.0f,
           stddev,
           rows,
           cols});
    } else {
      add({{name, float_dtype(), {rows, cols}}, Fill::kValues, s, 0.0f, stddev, rows, cols});
    }
  }

  std::vector<Recipe> take() {
    std::sort(list_.begin(), list_.end(),
              [](const Recipe& a, const Recipe& b) { return a.spec.name < b.spec.name; });
    return std::move(list_);
  }

 private:
  DType float_dtype() const { return format_ == WeightFormat::kF32 ? DType::kF32 : DType::kBF16; }
  void add(Recipe r) { list_.push_back(std::move(r)); }

  WeightFormat format_;
  std::vector<Recipe> list_;
};

float inv_sqrt(std::int64_t n) {
  return 1.0f / std::sqrt(static_cast<float>(n));
}

// Scales chosen so that activations stay O(1) through the layers and logits have a standard
// deviation of a few units: norms 1 + 0.1 N, embeddings N(0, 1), router 2/sqrt(H), lm_head
// 3/sqrt(H), every other matrix 1/sqrt(fan_in), correction bias 0.1 N (as the golden fixtures).
constexpr float kNormStd = 0.1f, kBiasStd = 0.1f, kRouterGain = 2.0f, kHeadGain = 3.0f;

void add_mlp(RecipeList& r, const std::string& prefix, std::int64_t hidden, std::int64_t width,
             float down_gain = 1.0f) {
  r.matrix(prefix + "gate_proj.weight", width, hidden, inv_sqrt(hidden), true);
  r.matrix(prefix + "up_proj.weight", width, hidden, inv_sqrt(hidden), true);
  r.matrix(prefix + "down_proj.weight", hidden, width, down_gain * inv_sqrt(width), true);
}

void add_decoder_layer(RecipeList& r, const DeepSeekConfig& c, std::int64_t layer, bool moe) {
  const std::int64_t H = c.hidden_size, nh = c.num_attention_heads, dq = c.qk_head_dim();
  const std::string p = fmt::format("model.layers.{}.", layer);
  r.vector(p + "input_layernorm.weight", H, 1.0f, kNormStd);
  r.vector(p + "post_attention_layernorm.weight", H, 1.0f, kNormStd);

  const std::string a = p + "self_attn.";
  if (c.q_lora_rank) {
    const std::int64_t rq = *c.q_lora_rank;
    r.matrix(a + "q_a_proj.weight", rq, H, inv_sqrt(H), true);
    r.vector(a + "q_a_layernorm.weight", rq, 1.0f, kNormStd);
    r.matrix(a + "q_b_proj.weight", nh * dq, rq, inv_sqrt(rq), true);
  } else {
    r.matrix(a + "q_proj.weight", nh * dq, H, inv_sqrt(H), true);
  }
  const std::int64_t rkv = c.kv_lora_rank;
  r.matrix(a + "kv_a_proj_with_mqa.weight", rkv + c.qk_rope_head_dim, H, inv_sqrt(H), true);
  r.vector(a + "kv_a_layernorm.weight", rkv, 1.0f, kNormStd);
  r.matrix(a + "kv_b_proj.weight", nh * (c.qk_nope_head_dim + c.v_head_dim), rkv, inv_sqrt(rkv),
           true);
  r.matrix(a + "o_proj.weight", H, nh * c.v_head_dim, inv_sqrt(nh * c.v_head_dim), true);

  const std::string m = p + "mlp.";
  if (!moe) {
    add_mlp(r, m, H, c.intermediate_size);
    return;
  }
  const std::int64_t E = *c.n_routed_experts, Fm = c.moe_intermediate_size;
  r.matrix(m + "gate.weight", E, H, kRouterGain * inv_sqrt(H), false);
  if (c.topk_method == TopkMethod::kNoauxTc)
    r.f32_vector(m + "gate.e_score_correction_bias", E, kBiasStd);
  // A large routed_scaling_factor (V2: 16) would blow up the residual stream with random
  // experts; keep the routed sum at the size it has for a factor of 4 or less (the golden
  // v2-tiny scales these down_proj by 0.25 for the same reason).
  const float down_gain = static_cast<float>(std::min(1.0, 4.0 / c.routed_scaling_factor));
  for (std::int64_t e = 0; e < E; ++e)
    add_mlp(r, fmt::format("{}experts.{}.", m, e), H, Fm, down_gain);
  if (c.n_shared_experts > 0) add_mlp(r, m + "shared_experts.", H, c.n_shared_experts * Fm);
}

std::vector<Recipe> checkpoint_recipes(const DeepSeekConfig& c, WeightFormat format) {
  RecipeList r(format);
  const std::int64_t H = c.hidden_size, V = c.vocab_size;
  const std::string embed = "model.embed_tokens.weight";
  const std::string head = c.tie_word_embeddings ? embed : "lm_head.weight";
  const float head_std = c.tie_word_embeddings ? 1.0f : kHeadGain * inv_sqrt(H);
  r.matrix(embed, V, H, 1.0f, false);
  r.vector("model.norm.weight", H, 1.0f, kNormStd);
  if (!c.tie_word_embeddings) r.matrix(head, V, H, head_std, false);
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
    add_decoder_layer(r, c, i, c.is_moe_layer(i));

  // Multi-token prediction (docs/deepseek-v2-v3.md section 8): a MoE decoder block plus its
  // input and output pieces; its embedding and head are copies of the main model's.
  for (std::int64_t j = 0; j < c.num_nextn_predict_layers; ++j) {
    const std::int64_t layer = c.num_hidden_layers + j;
    const std::string p = fmt::format("model.layers.{}.", layer);
    add_decoder_layer(r, c, layer, c.n_routed_experts.has_value());
    r.matrix(p + "embed_tokens.weight", V, H, 1.0f, false, embed);
    r.vector(p + "enorm.weight", H, 1.0f, kNormStd);
    r.vector(p + "hnorm.weight", H, 1.0f, kNormStd);
    r.matrix(p + "eh_proj.weight", H, 2 * H, inv_sqrt(2 * H), false);
    r.vector(p + "shared_head.norm.weight", H, 1.0f, kNormStd);
    r.matrix(p + "shared_head.head.weight", V, H, head_std, false, head);
  }
  return r.take();
}

// A Qwen2 / Llama checkpoint in Hugging Face's names (model/dense_loader.cpp reads them back).
std::vector<Recipe> dense_checkpoint_recipes(const DenseConfig& c, WeightFormat format) {
  RecipeList r(format);
  const std::int64_t H = c.hidden_size, V = c.vocab_size, qw = c.q_width(), kvw = c.kv_width();
  r.matrix("model.embed_tokens.weight", V, H, 1.0f, false);
  r.vector("model.norm.weight", H, 1.0f, kNormStd);
  if (!c.tie_word_embeddings) r.matrix("lm_head.weight", V, H, kHeadGain * inv_sqrt(H), false);
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    r.vector(p + "input_layernorm.weight", H, 1.0f, kNormStd);
    r.vector(p + "post_attention_layernorm.weight", H, 1.0f, kNormStd);
    const std::string a = p + "self_attn.";
    r.matrix(a + "q_proj.weight", qw, H, inv_sqrt(H), false);
    r.matrix(a + "k_proj.weight", kvw, H, inv_sqrt(H), false);
    r.matrix(a + "v_proj.weight", kvw, H, inv_sqrt(H), false);
    r.matrix(a + "o_proj.weight", H, qw, inv_sqrt(qw), false);
    if (c.qkv_bias) {
      r.vector(a + "q_proj.bias", qw, 0.0f, kBiasStd);
      r.vector(a + "k_proj.bias", kvw, 0.0f, kBiasStd);
      r.vector(a + "v_proj.bias", kvw, 0.0f, kBiasStd);
    }
    if (c.o_bias) r.vector(a + "o_proj.bias", H, 0.0f, kBiasStd);
    add_mlp(r, p + "mlp.", H, c.intermediate_size);
  }
  return r.take();
}

// ---------------------------------------------------------------------------------------------
// Random numbers: counter-based, so any element can be drawn on its own
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;

// The splitmix64 finaliser (Steele, Lea, Flood 2014).
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t stream_key(std::uint64_t seed, const std::string& name) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the name
  for (const char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
  return mix64(mix64(seed + kGolden) ^ h);
}

// Standard normals 2j and 2j+1 of a stream: Box-Muller on word j of a splitmix64 sequence.
inline void normal_pair(std::uint64_t key, std::uint64_t j, float out[2]) {
  const std::uint64_t bits = mix64(key + (j + 1) * kGolden);
  const float u1 = (static_cast<float>(bits >> 40) + 0.5f) * 0x1p-24f;  // (0, 1)
  const float u2 = static_cast<float>(bits & 0xffffff) * 0x1p-24f;      // [0, 1)
  const float radius = std::sqrt(-2.0f * std::log(u1));
  const float angle = 6.28318530718f * u2;
  out[0] = radius * std::cos(angle);
  out[1] = radius * std::sin(angle);
}

// out[k] = mean + stddev * normal number (first + k) of the stream.
void fill_normals(std::uint64_t key, std::uint64_t first, std::int64_t count, float mean,
                  float stddev, float* out) {
  std::uint64_t i = first;
  const std::uint64_t end = first + static_cast<std::uint64_t>(count);
  float z[2];
  if (i < end && (i & 1) != 0) {
    normal_pair(key, i >> 1, z);
    *out++ = mean + stddev * z[1];
    ++i;
  }
  for (; i + 1 < end; i += 2, out += 2) {
    normal_pair(key, i >> 1, z);
    out[0] = mean + stddev * z[0];
    out[1] = mean + stddev * z[1];
  }
  if (i < end) {
    normal_pair(key, i >> 1, z);
    *out = mean + stddev * z[0];
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming one tensor's bytes
// ---------------------------------------------------------------------------------------------

constexpr std::int64_t kBandBytes = 32 << 20;  // output bytes generated per write

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

class TensorGenerator {
 public:
  TensorGenerator(std::uint64_t seed, ThreadPool& pool)
      : seed_(seed), pool_(pool), scratch_(static_cast<std::size_t>(pool.size())) {}

  void fill(const Recipe& r, const TensorBytesSink& write) {
    switch (r.fill) {
      case Fill::kValues:
        return values(r, write);
      case Fill::kFp8Codes:
        return fp8_codes(r, write);
      case Fill::kFp8Scales:
        return fp8_scales(r, write);
    }
  }

 private:
  float* scratch(int thread, std::int64_t n) {
    auto& s = scratch_[static_cast<std::size_t>(thread)];
    if (static_cast<std::int64_t>(s.size()) < n) s.resize(static_cast<std::size_t>(n));
    return s.data();
  }

  // F32 or BF16 values, a band of rows at a time, the rows split across threads.
  void values(const Recipe& r, const TensorBytesSink& write) {
    const std::uint64_t key = stream_key(seed_, r.stream);
    const std::int64_t row_bytes = r.cols * static_cast<std::int64_t>(dtype_size(r.spec.dtype));
    const std::int64_t band = std::clamp<std::int64_t>(kBandBytes / row_bytes, 1, r.rows);
    band_.resize(static_cast<std::size_t>(band * row_bytes));
    for (std::int64_t r0 = 0; r0 < r.rows; r0 += band) {
      const std::int64_t n = std::min(band, r.rows - r0);
      const auto task = [&](std::int64_t begin, std::int64_t end, int thread) {
        for (std::int64_t i = begin; i < end; ++i)
          draw_row(r, key, r0 + i, band_.data() + i * row_bytes, thread);
      };
      pool_.parallel_for(n, std::max<std::int64_t>(1, 16384 / r.cols), task);
      write(std::span(band_).first(static_cast<std::size_t>(n * row_bytes)));
    }
  }

  void draw_row(const Recipe& r, std::uint64_t key, std::int64_t row, std::uint8_t* out,
                int thread) {
    float* values = scratch(thread, r.cols);
    fill_normals(key, static_cast<std::uint64_t>(row * r.cols), r.cols, r.mean, r.stddev, values);
    if (r.spec.dtype == DType::kF32) {
      std::memcpy(out, values, static_cast<std::size_t>(r.cols) * 4);
      return;
    }
    for (std::int64_t c = 0; c < r.cols; ++c) {
      const std::uint16_t h = f32_to_bf16(values[c]);
      std::memcpy(out + 2 * c, &h, 2);
    }
  }

  // Draws block (br, bc) of the weight into `out` (row-major, `width` per row) and returns its
  // scale, amax / 448 (docs/deepseek-v2-v3.md section 2.4; a partial block's amax is over its
  // own elements).
  float draw_block(const Recipe& r, std::uint64_t key, std::int64_t br, std::int64_t bc, float* out,
                   std::int64_t& height, std::int64_t& width) const {
    const std::int64_t row0 = br * kFp8Block, col0 = bc * kFp8Block;
    height = std::min(kFp8Block, r.rows - row0);
    width = std::min(kFp8Block, r.cols - col0);
    float amax = 0.0f;
    for (std::int64_t i = 0; i < height; ++i) {
      float* row = out + i * width;
      fill_normals(key, static_cast<std::uint64_t>((row0 + i) * r.cols + col0), width, r.mean,
                   r.stddev, row);
      for (std::int64_t c = 0; c < width; ++c) amax = std::max(amax, std::fabs(row[c]));
    }
    return amax > 0.0f ? amax / 448.0f : 1.0f;
  }

  // Block (br, bc) as e4m3 codes, code = e4m3(w / scale), into a band starting at row r0.
  void encode_block(const Recipe& r, std::uint64_t key, std::int64_t br, std::int64_t bc,
                    std::int64_t r0, int thread) {
    float* block = scratch(thread, kFp8Block * kFp8Block);
    std::int64_t height = 0, width = 0;
    const float scale = draw_block(r, key, br, bc, block, height, width);
    for (std::int64_t i = 0; i < height; ++i) {
      std::uint8_t* out = band_.data() + (br * kFp8Block + i - r0) * r.cols + bc * kFp8Block;
      for (std::int64_t c = 0; c < width; ++c)
        out[c] = f32_to_fp8_e4m3(block[i * width + c] / scale);
    }
  }

  // e4m3 codes, a band of whole 128-row blocks at a time, the blocks split across threads.
  void fp8_codes(const Recipe& r, const TensorBytesSink& write) {
    const std::uint64_t key = stream_key(seed_, r.stream);
    const std::int64_t block_cols = ceil_div(r.cols, kFp8Block);
    const std::int64_t band =
        kFp8Block * std::max<std::int64_t>(1, kBandBytes / (kFp8Block * r.cols));
    band_.resize(static_cast<std::size_t>(std::min(band, r.rows) * r.cols));
    for (std::int64_t r0 = 0; r0 < r.rows; r0 += band) {
      const std::int64_t n = std::min(band, r.rows - r0);
      const auto task = [&](std::int64_t begin, std::int64_t end, int thread) {
        for (std::int64_t b = begin; b < end; ++b)
          encode_block(r, key, r0 / kFp8Block + b / block_cols, b % block_cols, r0, thread);
      };
      pool_.parallel_for(ceil_div(n, kFp8Block) * block_cols, 1, task);
      write(std::span(band_).first(static_cast<std::size_t>(n * r.cols)));
    }
  }

  // The scales come before their weight in the file (F32 sorts first), so they are computed
  // from a fresh draw of the same numbers rather than kept from the codes.
  void fp8_scales(const Recipe& r, const TensorBytesSink& write) {
    const std::uint64_t key = stream_key(seed_, r.stream);
    const std::int64_t block_cols = ceil_div(r.cols, kFp8Block);
    std::vector<float> scales(static_cast<std::size_t>(ceil_div(r.rows, kFp8Block) * block_cols));
    const auto task = [&](std::int64_t begin, std::int64_t end, int thread) {
      float* block = scratch(thread, kFp8Block * kFp8Block);
      std::int64_t height = 0, width = 0;
      for (std::int64_t b = begin; b < end; ++b)
        scales[static_cast<std::size_t>(b)] =
            draw_block(r, key, b / block_cols, b % block_cols, block, height, width);
    };
    pool_.parallel_for(static_cast<std::int64_t>(scales.size()), 1, task);
    write(std::span(reinterpret_cast<const std::uint8_t*>(scales.data()), scales.size() * 4));
  }

  std::uint64_t seed_;
  ThreadPool& pool_;
  std::vector<std::vector<float>> scratch_;  // per thread
  std::vector<std::uint8_t> band_;
};

// Removes what a previous make-model wrote, so that stale shards or an old index cannot
// shadow the new weights. Other files (a tokenizer) stay.
void remove_model_files(const fs::path& folder) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    const bool shard = name.starts_with("model-") && name.ends_with(".safetensors") &&
                       name.find("-of-") != std::string::npos;
    if (shard || name == "model.safetensors" || name == "model.safetensors.index.json" ||
        name == "config.json")
      fs::remove(entry.path());
  }
}

}  // namespace

std::vector<TensorSpec> random_checkpoint_tensors(const DeepSeekConfig& config,
                                                  WeightFormat format) {
  std::vector<TensorSpec> specs;
  for (auto& r : checkpoint_recipes(config, format)) specs.push_back(std::move(r.spec));
  return specs;
}

namespace {

// Writes `recipes` as the folder's safetensors, then `config_json` as its config.json.
void write_recipes(const std::string& folder, const nlohmann::json& config_json,
                   std::vector<Recipe> recipes, const RandomCheckpointOptions& options,
                   ThreadPool& pool) {
  std::error_code ec;
  const fs::path dir(folder);
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    fail("--out: {} exists and is not a folder", folder);
  fs::create_directories(dir, ec);
  if (ec) fail("--out: cannot create the folder {}: {}", folder, ec.message());
  if (!fs::is_empty(dir, ec)) {
    if (!options.overwrite)
      fail("--out: {} is not empty; pass --force to replace the model files in it", folder);
    remove_model_files(dir);
  }

  std::map<std::string, const Recipe*> by_name;
  std::vector<TensorSpec> specs;
  for (const Recipe& r : recipes) {
    by_name[r.spec.name] = &r;
    specs.push_back(r.spec);
  }
  TensorGenerator generator(options.seed, pool);
  write_model_safetensors(
      folder, std::move(specs), options.max_shard_bytes,
      [&](const TensorSpec& t, const TensorBytesSink& write) {
        generator.fill(*by_name.at(t.name), write);
      },
      options.progress);
  // Last, so that a folder with a config.json is a complete checkpoint.
  write_json_file((dir / "config.json").string(), config_json);
}

void check_dense_format(WeightFormat format) {
  if (format == WeightFormat::kFp8)
    fail("--dtype: fp8 is the DeepSeek-V3 release format; dense shapes are written as f32 or bf16");
}

DenseConfig dense_config_for_format(DenseConfig config, WeightFormat format) {
  config.torch_dtype = format == WeightFormat::kF32 ? "float32" : "bfloat16";
  return config;
}

}  // namespace

void write_random_checkpoint(const std::string& folder, const DeepSeekConfig& config,
                             const RandomCheckpointOptions& options, ThreadPool& pool) {
  // The config must be one whale (and Hugging Face) would load: check it by reading it back.
  const nlohmann::json config_json =
      deepseek_config_to_json(config_for_format(config, options.format));
  parse_deepseek_config(config_json, folder + "/config.json");
  write_recipes(folder, config_json, checkpoint_recipes(config, options.format), options, pool);
}

std::vector<TensorSpec> random_dense_checkpoint_tensors(const DenseConfig& config,
                                                        WeightFormat format) {
  check_dense_format(format);
  std::vector<TensorSpec> specs;
  for (auto& r : dense_checkpoint_recipes(config, format)) specs.push_back(std::move(r.spec));
  return specs;
}

void write_random_dense_checkpoint(const std::string& folder, const DenseConfig& config,
                                   const RandomCheckpointOptions& options, ThreadPool& pool) {
  check_dense_format(options.format);
  const nlohmann::json config_json =
      dense_config_to_json(dense_config_for_format(config, options.format));
  parse_dense_config(config_json, folder + "/config.json");
  write_recipes(folder, config_json, dense_checkpoint_recipes(config, options.format), options,
                pool);
}

}  // namespace whale
