// The model computes attention in the absorbed form over the latent cache (docs section 4.3).
// This test recomputes every position of a golden prompt with the naive form of section 4.1
// (k_nope and v expanded through kv_b_proj, softmax per head, full causal recompute, float64)
// from the model's own weights, and holds DeepSeekModel::forward (prefill + cached decode) to it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "formats/scalar_formats.h"
#include "kernels/matmul.h"
#include "model/deepseek.h"
#include "model/rope.h"
#include "model/router.h"
#include "support/test_support.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

using Vec = std::vector<double>;

// A weight as float64, [rows, cols]; FP8 as e4m3 * scale_inv exactly.
struct Matrix {
  std::int64_t rows = 0, cols = 0;
  Vec v;

  explicit Matrix(const WeightMatrix& w)
      : rows(w.rows), cols(w.cols), v(static_cast<std::size_t>(w.rows * w.cols)) {
    if (w.dtype == DType::kF8E4M3) {
      const std::int64_t scale_cols = (cols + w.block_cols - 1) / w.block_cols;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c)
          v[r * cols + c] = static_cast<double>(fp8_e4m3_table()[w.data[r * cols + c]]) *
                            w.block_scales[(r / w.block_rows) * scale_cols + c / w.block_cols];
      return;
    }
    std::vector<float> f(v.size());
    dequantize_rows(w, 0, rows, f.data());
    std::copy(f.begin(), f.end(), v.begin());
  }

  // W x for x of length cols, rows [begin, end).
  Vec apply(const Vec& x, std::int64_t begin = 0, std::int64_t end = -1) const {
    if (end < 0) end = rows;
    Vec y(static_cast<std::size_t>(end - begin));
    for (std::int64_t r = begin; r < end; ++r) {
      double s = 0;
      for (std::int64_t c = 0; c < cols; ++c) s += v[r * cols + c] * x[c];
      y[r - begin] = s;
    }
    return y;
  }
};

Vec rms_norm(const Vec& x, const std::vector<float>& weight, double eps) {
  double ss = 0;
  for (double a : x) ss += a * a;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = weight[i] * x[i] * inv;
  return y;
}

// Interleaved pairs (x[2i], x[2i+1]) rotated by pos * inv_freq[i], cos/sin times `magnitude`.
void rope(double* x, const std::vector<double>& inv_freq, double magnitude, std::int64_t pos) {
  for (std::size_t i = 0; i < inv_freq.size(); ++i) {
    const double a = static_cast<double>(pos) * inv_freq[i];
    const double c = std::cos(a) * magnitude, s = std::sin(a) * magnitude;
    const double x0 = x[2 * i], x1 = x[2 * i + 1];
    x[2 * i] = x0 * c - x1 * s;
    x[2 * i + 1] = x0 * s + x1 * c;
  }
}

Vec mlp(const MlpWeights& w, const Vec& x) {
  const Vec g = Matrix(w.gate).apply(x), u = Matrix(w.up).apply(x);
  Vec a(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) a[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
  return Matrix(w.down).apply(a);
}

// Logits [ids, vocab] of the whole prompt, every position recomputed from scratch.
std::vector<Vec> naive_forward(const DeepSeekModel& model, const std::vector<std::int32_t>& ids) {
  const DeepSeekConfig& c = model.config();
  const DeepSeekWeights& W = model.weights();
  const std::int64_t T = static_cast<std::int64_t>(ids.size());
  const std::int64_t H = c.hidden_size, nh = c.num_attention_heads, dn = c.qk_nope_head_dim,
                     dr = c.qk_rope_head_dim, dq = dn + dr, dv = c.v_head_dim, rkv = c.kv_lora_rank;
  const auto inv_freq = yarn_inv_freq(dr, c.rope_theta, c.rope_scaling);
  const double magnitude = c.rope_magnitude(), scale = c.softmax_scale();

  const Matrix embed(W.embed);
  std::vector<Vec> x(static_cast<std::size_t>(T));
  for (std::int64_t t = 0; t < T; ++t)
    x[t].assign(embed.v.begin() + ids[t] * H, embed.v.begin() + (ids[t] + 1) * H);

  for (std::size_t layer = 0; layer < W.layers.size(); ++layer) {
    const LayerWeights& L = W.layers[layer];
    const Matrix kv_a(L.attn.kv_a_proj), kv_b(*L.attn.kv_b_proj), o_proj(L.attn.o_proj);
    const Matrix q_proj(L.attn.q_proj ? *L.attn.q_proj : *L.attn.q_b_proj);
    const std::optional<Matrix> q_a =
        L.attn.q_a_proj ? std::optional<Matrix>(*L.attn.q_a_proj) : std::nullopt;
    std::vector<Vec> q(T), k_nope(T), v(T), k_pe(T);
    for (std::int64_t t = 0; t < T; ++t) {
      const Vec h = rms_norm(x[t], L.attn_norm, c.rms_norm_eps);
      // q = q_proj(h), or q_b_proj(rmsnorm(q_a_proj(h))) with q-LoRA.
      q[t] = q_proj.apply(q_a ? rms_norm(q_a->apply(h), L.attn.q_a_norm, c.rms_norm_eps) : h);
      for (std::int64_t hd = 0; hd < nh; ++hd)
        rope(q[t].data() + hd * dq + dn, inv_freq, magnitude, t);
      const Vec kv = kv_a.apply(h);
      const Vec latent =
          rms_norm(Vec(kv.begin(), kv.begin() + rkv), L.attn.kv_a_norm, c.rms_norm_eps);
      k_pe[t].assign(kv.begin() + rkv, kv.end());
      rope(k_pe[t].data(), inv_freq, magnitude, t);
      const Vec kvb = kv_b.apply(latent);  // per head: dn k_nope rows, then dv v rows
      k_nope[t].resize(static_cast<std::size_t>(nh * dn));
      v[t].resize(static_cast<std::size_t>(nh * dv));
      for (std::int64_t hd = 0; hd < nh; ++hd) {
        std::copy_n(kvb.begin() + hd * (dn + dv), dn, k_nope[t].begin() + hd * dn);
        std::copy_n(kvb.begin() + hd * (dn + dv) + dn, dv, v[t].begin() + hd * dv);
      }
    }
    std::vector<Vec> attn(T, Vec(static_cast<std::size_t>(nh * dv), 0.0));
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t hd = 0; hd < nh; ++hd) {
        Vec score(static_cast<std::size_t>(t + 1));
        for (std::int64_t s = 0; s <= t; ++s) {
          double d = 0;
          for (std::int64_t i = 0; i < dn; ++i) d += q[t][hd * dq + i] * k_nope[s][hd * dn + i];
          for (std::int64_t i = 0; i < dr; ++i) d += q[t][hd * dq + dn + i] * k_pe[s][i];
          score[s] = scale * d;
        }
        const double max = *std::max_element(score.begin(), score.end());
        double sum = 0;
        for (double& e : score) sum += (e = std::exp(e - max));
        for (std::int64_t s = 0; s <= t; ++s)
          for (std::int64_t i = 0; i < dv; ++i)
            attn[t][hd * dv + i] += score[s] / sum * v[s][hd * dv + i];
      }
    for (std::int64_t t = 0; t < T; ++t) {
      const Vec out = o_proj.apply(attn[t]);
      for (std::int64_t i = 0; i < H; ++i) x[t][i] += out[i];
    }

    for (std::int64_t t = 0; t < T; ++t) {
      const Vec h = rms_norm(x[t], L.ffn_norm, c.rms_norm_eps);
      Vec y(static_cast<std::size_t>(H), 0.0);
      if (L.dense) {
        y = mlp(*L.dense, h);
      } else {
        // Routing is router_test's subject; here it only has to pick the same experts.
        const RouterSpec spec = RouterSpec::from_config(c);
        const Vec router = Matrix(L.moe->router).apply(h);
        std::vector<float> logits(router.begin(), router.end()), scratch(4 * router.size());
        std::vector<std::int32_t> experts(static_cast<std::size_t>(spec.top_k));
        std::vector<float> weights(static_cast<std::size_t>(spec.top_k));
        route_token(spec, logits, L.moe->correction_bias, scratch, experts, weights);
        for (std::int64_t j = 0; j < spec.top_k; ++j) {
          const Vec e = mlp(L.moe->experts[experts[j]], h);
          for (std::int64_t i = 0; i < H; ++i) y[i] += weights[j] * e[i];
        }
        if (L.moe->shared) {
          const Vec s = mlp(*L.moe->shared, h);
          for (std::int64_t i = 0; i < H; ++i) y[i] += s[i];
        }
      }
      for (std::int64_t i = 0; i < H; ++i) x[t][i] += y[i];
    }
  }
  const Matrix head(W.lm_head);
  std::vector<Vec> logits;
  for (std::int64_t t = 0; t < T; ++t)
    logits.push_back(head.apply(rms_norm(x[t], W.final_norm, c.rms_norm_eps)));
  return logits;
}

// The model as the fixtures were made: ids[0:prefill] in one call, then one id per call.
std::vector<float> model_forward(DeepSeekModel& model, const std::vector<std::int32_t>& ids,
                                 std::int64_t prefill) {
  ThreadPool pool(2);
  const auto n = static_cast<std::int64_t>(ids.size());
  auto cache = model.create_cache(1, n, CacheDType::kF32);
  std::vector<float> logits;
  ForwardResult r;
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t count = done == 0 ? prefill : 1;
    std::vector<BatchToken> batch;
    for (std::int64_t i = 0; i < count; ++i) batch.push_back({ids[done + i], 0, done + i, true});
    model.forward(batch, *cache, pool, {}, r);
    logits.insert(logits.end(), r.logits.begin(), r.logits.end());
    done += count;
  }
  return logits;
}

class AbsorbedMla : public ::testing::TestWithParam<std::string> {};

TEST_P(AbsorbedMla, EqualsNaiveMlaWithin1e5Relative) {
  DeepSeekModel model(test::golden_folder(GetParam()));
  const std::int64_t V = model.config().vocab_size;
  const auto cases = test::read_json(test::golden_folder(GetParam()) + "/cases.json");
  for (const auto& c : cases) {
    const auto ids = c["ids"].get<std::vector<std::int32_t>>();
    const std::int64_t prefill = c["prefill"];
    const std::vector<Vec> naive = naive_forward(model, ids);
    const std::vector<float> absorbed = model_forward(model, ids, prefill);
    const std::string golden_bytes =
        test::read_bytes(test::golden_folder(GetParam()) + "/" + c["logits"].get<std::string>());
    ASSERT_EQ(absorbed.size(), ids.size() * static_cast<std::size_t>(V));
    ASSERT_EQ(golden_bytes.size(), absorbed.size() * 4);
    double largest = 0, model_error = 0, naive_vs_reference = 0;
    for (std::size_t t = 0; t < ids.size(); ++t)
      for (std::int64_t j = 0; j < V; ++j) {
        float reference;
        std::memcpy(&reference, golden_bytes.data() + (t * V + j) * 4, 4);
        largest = std::max(largest, std::abs(naive[t][j]));
        model_error = std::max(model_error, std::abs(absorbed[t * V + j] - naive[t][j]));
        naive_vs_reference = std::max(naive_vs_reference, std::abs(reference - naive[t][j]));
      }
    // The naive float64 forward is itself DeepSeek's reference (up to its float32 rounding)...
    EXPECT_LE(naive_vs_reference, 1e-5 * largest) << c["name"];
    // ...and the absorbed float32 model agrees with it.
    EXPECT_LE(model_error, 1e-5 * largest) << c["name"];
    std::printf(
        "[mla] %s/%s: max|absorbed - naive| %.3g, max|naive - reference| %.3g, max|logit| %.3g\n",
        GetParam().c_str(), c["name"].get<std::string>().c_str(), model_error, naive_vs_reference,
        largest);
  }
}

// A context of several attention blocks (the model's softmax runs online over blocks of the
// cache): prefill of 70 tokens, then decode to 200, against the naive recompute at the
// positions that end a block, start one, and at the last.
TEST_P(AbsorbedMla, LongContextEqualsNaiveMla) {
  DeepSeekModel model(test::golden_folder(GetParam()));
  const std::int64_t V = model.config().vocab_size;
  std::vector<std::int32_t> ids;
  std::uint32_t x = 12345;
  for (int i = 0; i < 200; ++i) {
    x = x * 1103515245u + 12345u;
    ids.push_back(static_cast<std::int32_t>((x >> 8) % static_cast<std::uint32_t>(V)));
  }
  const std::vector<float> absorbed = model_forward(model, ids, 70);
  for (const std::size_t t :
       {std::size_t{63}, std::size_t{64}, std::size_t{69}, std::size_t{128}, std::size_t{199}}) {
    const std::vector<Vec> naive =
        naive_forward(model, std::vector<std::int32_t>(ids.begin(), ids.begin() + t + 1));
    double largest = 0, error = 0;
    for (std::int64_t j = 0; j < V; ++j) {
      largest = std::max(largest, std::abs(naive[t][j]));
      error = std::max(error, std::abs(absorbed[t * V + j] - naive[t][j]));
    }
    EXPECT_LE(error, 1e-5 * largest) << "position " << t;
  }
}

// Prefill in the expanded form (keys and values expanded from the latents, blocked softmax)
// and in the absorbed one, forced: a prompt of 150 tokens (several query and key blocks, a
// partial last key block), a second chunk of 110 continuing it (queries after cached rows),
// then decoding, both against the naive float64 recompute at every position.
TEST_P(AbsorbedMla, BothPrefillFormsEqualNaiveMla) {
  DeepSeekModel model(test::golden_folder(GetParam()));
  const std::int64_t V = model.config().vocab_size;
  std::vector<std::int32_t> ids;
  std::uint32_t x = 777;
  for (int i = 0; i < 264; ++i) {
    x = x * 1103515245u + 12345u;
    ids.push_back(static_cast<std::int32_t>((x >> 8) % static_cast<std::uint32_t>(V)));
  }
  const std::vector<Vec> naive = naive_forward(model, ids);
  double largest = 0;
  for (const Vec& row : naive)
    for (const double v : row) largest = std::max(largest, std::abs(v));
  // The cost model agrees these chunks are cheaper expanded (or the forced form is moot).
  EXPECT_TRUE(model.expanded_is_cheaper(150, 0));
  EXPECT_TRUE(model.expanded_is_cheaper(110, 150));
  EXPECT_FALSE(model.expanded_is_cheaper(1, 260));
  std::vector<float> logits[2];
  const MlaForm forms[2] = {MlaForm::kAbsorbed, MlaForm::kExpanded};
  for (int f = 0; f < 2; ++f) {
    model.set_mla_form(forms[f]);
    ThreadPool pool(2);
    auto cache = model.create_cache(1, 264, CacheDType::kF32);
    ForwardResult r;
    for (const auto& [begin, end] : {std::pair{0, 150}, std::pair{150, 260}, std::pair{260, 261},
                                     std::pair{261, 262}, std::pair{262, 264}}) {
      std::vector<BatchToken> batch;
      for (int i = begin; i < end; ++i) batch.push_back({ids[i], 0, i, true});
      model.forward(batch, *cache, pool, {}, r);
      logits[f].insert(logits[f].end(), r.logits.begin(), r.logits.end());
    }
    ASSERT_EQ(logits[f].size(), ids.size() * static_cast<std::size_t>(V));
    double error = 0;
    for (std::size_t t = 0; t < ids.size(); ++t)
      for (std::int64_t j = 0; j < V; ++j)
        error = std::max(error, std::abs(logits[f][t * V + j] - naive[t][j]));
    EXPECT_LE(error, 1e-5 * largest) << (f == 0 ? "absorbed" : "expanded");
    std::printf("[mla] %s: 264 positions, max|%s - naive| %.3g (max|logit| %.3g)\n",
                GetParam().c_str(), f == 0 ? "absorbed" : "expanded", error, largest);
  }
  model.set_mla_form(MlaForm::kAuto);
  // The forms differ only by rounding, so they are not the same computation.
  EXPECT_NE(0, std::memcmp(logits[0].data(), logits[1].data(), logits[0].size() * 4));
}

INSTANTIATE_TEST_SUITE_P(Folders, AbsorbedMla,
                         ::testing::Values("v2-lite-tiny", "v2-tiny", "v3-tiny-fp8",
                                           "v3-tiny-bf16"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace whale
