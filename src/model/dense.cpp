#include "model/dense.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "kernels/dot.h"
#include "kernels/ops.h"
#include "model/batch.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

template <typename T>
T* grow(std::vector<T>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

void add_bias(float* rows, std::int64_t n_rows, const std::vector<float>& bias) {
  if (bias.empty()) return;
  const auto width = static_cast<std::int64_t>(bias.size());
  for (std::int64_t i = 0; i < n_rows; ++i)
    for (std::int64_t j = 0; j < width; ++j) rows[i * width + j] += bias[j];
}

// Per-thread scratch for attention, grown as contexts lengthen.
struct AttentionScratch {
  std::vector<float> scores;
};
thread_local AttentionScratch attention_scratch;

}  // namespace

DenseModel::DenseModel(DenseConfig config, DenseWeights weights,
                       std::shared_ptr<const TensorSource> source)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      source_(std::move(source)),
      inv_freq_(llama3_inv_freq(config_.head_dim, config_.rope_theta, config_.rope_scaling)) {
  const DenseConfig& c = config_;
  if (!weights_.rope_freq_factors.empty()) {
    if (static_cast<std::int64_t>(weights_.rope_freq_factors.size()) * 2 != c.head_dim)
      fail("{}: {} RoPE frequency factors for head_dim {}", source_->origin(),
           weights_.rope_freq_factors.size(), c.head_dim);
    for (std::size_t i = 0; i < inv_freq_.size(); ++i) {
      const double f = weights_.rope_freq_factors[i];
      if (!(f > 0.0) || !std::isfinite(f))
        fail("{}: RoPE frequency factor {} is {}, expected a positive number", source_->origin(), i,
             f);
      inv_freq_[i] /= f;
    }
  }
  if (static_cast<std::int64_t>(weights_.layers.size()) != c.num_hidden_layers)
    fail("{}: {} layers of weights for num_hidden_layers {}", source_->origin(),
         weights_.layers.size(), c.num_hidden_layers);
  const std::int64_t H = c.hidden_size, V = c.vocab_size;
  summary_.architecture = c.model_type;
  summary_.description = c.describe();
  summary_.vocab_size = V;
  summary_.context_length = c.max_position_embeddings;
  summary_.kv_values_per_token = c.cache_width() * c.num_hidden_layers;
  summary_.experts_per_token = 0;

  // Every weight is read once per decoded token except the embedding (one row).
  const auto params = [](const WeightMatrix& w) { return w.rows * w.cols; };
  const bool tied = weights_.lm_head.data == weights_.embed.data;
  std::int64_t total = params(weights_.embed) + H + (tied ? 0 : params(weights_.lm_head));
  std::int64_t active = H + H + params(weights_.lm_head);
  std::int64_t bytes = weights_.embed.bytes() / V + H * 4 + weights_.lm_head.bytes();
  for (const DenseLayerWeights& L : weights_.layers) {
    for (const WeightMatrix* w : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
      total += params(*w);
      active += params(*w);
      bytes += w->bytes();
    }
    const auto vectors =
        static_cast<std::int64_t>(L.attn_norm.size() + L.ffn_norm.size() + L.q_bias.size() +
                                  L.k_bias.size() + L.v_bias.size() + L.o_bias.size());
    total += vectors;
    active += vectors;
    bytes += vectors * 4;
  }
  summary_.total_parameters = total;
  summary_.active_parameters = active;
  summary_.weight_bytes_per_token = bytes;
}

std::unique_ptr<KvCache> DenseModel::create_cache(std::int32_t max_sequences, std::int64_t capacity,
                                                  CacheDType dtype) const {
  return std::make_unique<LatentKvCache>(config_.num_hidden_layers, config_.cache_width(),
                                         max_sequences, capacity, dtype);
}

void DenseModel::forward(std::span<const BatchToken> batch, KvCache& cache_base, ThreadPool& pool,
                         const ForwardOptions& /*options: no routes in a dense model*/,
                         ForwardResult& result) {
  auto* cache = dynamic_cast<LatentKvCache*>(&cache_base);
  if (cache == nullptr || cache->width() != config_.cache_width())
    fail("forward: the cache was not made by this model's create_cache");
  const DenseConfig& c = config_;
  const std::int64_t T = static_cast<std::int64_t>(batch.size());
  const std::int64_t H = c.hidden_size, V = c.vocab_size, half = c.head_dim / 2;
  validate_batch_and_extend_cache(batch, *cache, V, buf_.next_position);

  float* hidden = grow(buf_.hidden, T * H);
  for (std::int64_t i = 0; i < T; ++i)
    dequantize_rows(weights_.embed, batch[i].id, batch[i].id + 1, hidden + i * H);

  // One cos/sin table per token, shared by every layer; angles in float64 like the reference.
  float* cos = grow(buf_.rope_cos, T * half);
  float* sin = grow(buf_.rope_sin, T * half);
  for (std::int64_t i = 0; i < T; ++i)
    for (std::int64_t j = 0; j < half; ++j) {
      const double angle = static_cast<double>(batch[i].pos) * inv_freq_[j];
      cos[i * half + j] = static_cast<float>(std::cos(angle));
      sin[i * half + j] = static_cast<float>(std::sin(angle));
    }

  for (std::int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    attention(layer, batch, *cache, pool);
    mlp(layer, T, pool);
  }

  // Final norm and head, only for the tokens that asked for logits.
  result.vocab_size = V;
  result.moe_layers.clear();
  result.routes.clear();
  std::int64_t n_out = 0;
  float* normed = grow(buf_.normed, T * H);
  for (std::int64_t i = 0; i < T; ++i)
    if (batch[i].want_logits)
      rms_norm(hidden + i * H, weights_.final_norm.data(), H, c.rms_norm_eps,
               normed + (n_out++) * H);
  result.logits.resize(static_cast<std::size_t>(n_out * V));
  if (n_out > 0) matmul(weights_.lm_head, normed, n_out, result.logits.data(), pool);
}

void DenseModel::attention(std::int64_t layer, std::span<const BatchToken> batch,
                           LatentKvCache& cache, ThreadPool& pool) {
  const DenseConfig& c = config_;
  const DenseLayerWeights& L = weights_.layers[layer];
  const std::int64_t T = static_cast<std::int64_t>(batch.size());
  const std::int64_t H = c.hidden_size, nh = c.num_attention_heads, nkv = c.num_key_value_heads,
                     d = c.head_dim, half = d / 2, group = nh / nkv, kvw = nkv * d;
  float* hidden = buf_.hidden.data();
  float* normed = grow(buf_.normed, T * H);
  for (std::int64_t i = 0; i < T; ++i)
    rms_norm(hidden + i * H, L.attn_norm.data(), H, c.rms_norm_eps, normed + i * H);

  float* q = grow(buf_.q, T * nh * d);  // [T, nh, d]
  float* k = grow(buf_.k, T * kvw);     // [T, nkv, d]
  float* v = grow(buf_.v, T * kvw);     // [T, nkv, d]
  matmul_same_input({{&L.q, q}, {&L.k, k}, {&L.v, v}}, normed, T, pool, buf_.chunks);
  add_bias(q, T, L.q_bias);
  add_bias(k, T, L.k_bias);
  add_bias(v, T, L.v_bias);

  // Rotary positions on queries and keys, then every key and value into the cache before any
  // token attends, so tokens of one sequence in this batch see each other causally.
  float* row = grow(buf_.kv_row, 2 * kvw);
  for (std::int64_t i = 0; i < T; ++i) {
    const float* cs = buf_.rope_cos.data() + i * half;
    const float* sn = buf_.rope_sin.data() + i * half;
    apply_rope(q + i * nh * d, nh, d, cs, sn, half, weights_.rope_pairing);
    apply_rope(k + i * kvw, nkv, d, cs, sn, half, weights_.rope_pairing);
    std::copy_n(k + i * kvw, kvw, row);
    std::copy_n(v + i * kvw, kvw, row + kvw);
    cache.write(layer, batch[i].seq, batch[i].pos, row);
  }

  // softmax(q·kᵀ / sqrt(d)) v per (token, head) over the token's cached positions [0, pos];
  // query heads g * group .. (g + 1) * group - 1 read KV head g, so a (token, KV head) is one
  // item: its heads score against each cached key in one pass (dot_rows) and sum the values
  // likewise (axpy_rows), on the cache rows as stored. Each item is computed by one thread
  // with the same code whatever the split, so results do not depend on the thread count.
  float* attn_out = grow(buf_.attn_out, T * nh * d);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const std::int64_t items = T * nkv, row_width = 2 * kvw;
  const std::int64_t grain = std::max<std::int64_t>(1, (items + pool.size() - 1) / pool.size());
  pool.parallel_for(items, grain, [&](std::int64_t begin, std::int64_t end, int) {
    AttentionScratch& s = attention_scratch;
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t i = item / nkv, g = item % nkv;
      const BatchToken& tok = batch[i];
      const std::int64_t n_ctx = tok.pos + 1;
      const float* qg = q + (i * nh + g * group) * d;
      float* scores = grow(s.scores, group * n_ctx);  // [head of the group][position]
      float* out = attn_out + (i * nh + g * group) * d;
      std::fill(out, out + group * d, 0.0f);
      const float* rows = cache.row_f32(layer, tok.seq, 0);
      const std::uint16_t* rows_bf16 = cache.row_bf16(layer, tok.seq, 0);
      if (rows != nullptr)
        dot_rows_f32(qg, d, group, rows + g * d, row_width, n_ctx, scores, n_ctx, d);
      else
        dot_rows_bf16(qg, d, group, rows_bf16 + g * d, row_width, n_ctx, scores, n_ctx, d);
      for (std::int64_t j = 0; j < group; ++j) {
        float* sj = scores + j * n_ctx;
        for (std::int64_t t = 0; t < n_ctx; ++t) sj[t] *= scale;
        softmax(sj, n_ctx);
      }
      if (rows != nullptr)
        axpy_rows_f32(scores, n_ctx, group, rows + kvw + g * d, row_width, n_ctx, out, d, d);
      else
        axpy_rows_bf16(scores, n_ctx, group, rows_bf16 + kvw + g * d, row_width, n_ctx, out, d, d);
    }
  });

  float* out = grow(buf_.proj, T * H);
  matmul(L.o, attn_out, T, out, pool);
  add_bias(out, T, L.o_bias);
  for (std::int64_t i = 0; i < T * H; ++i) hidden[i] += out[i];
}

void DenseModel::mlp(std::int64_t layer, std::int64_t n_tokens, ThreadPool& pool) {
  const DenseLayerWeights& L = weights_.layers[layer];
  const std::int64_t H = config_.hidden_size, F = config_.intermediate_size, T = n_tokens;
  float* hidden = buf_.hidden.data();
  float* normed = grow(buf_.normed, T * H);
  for (std::int64_t i = 0; i < T; ++i)
    rms_norm(hidden + i * H, L.ffn_norm.data(), H, config_.rms_norm_eps, normed + i * H);
  // SwiGLU: down(silu(gate(x)) * up(x)).
  float* a = grow(buf_.ffn_a, T * F);
  float* b = grow(buf_.ffn_b, T * F);
  matmul_same_input({{&L.gate, a}, {&L.up, b}}, normed, T, pool, buf_.chunks);
  silu_mul(a, b, T * F);
  float* out = grow(buf_.proj, T * H);
  matmul(L.down, a, T, out, pool);
  for (std::int64_t i = 0; i < T * H; ++i) hidden[i] += out[i];
}

}  // namespace whale
