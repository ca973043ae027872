#include "model/router.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ops.h"

namespace whale {

RouterSpec RouterSpec::from_config(const DeepSeekConfig& c) {
  RouterSpec s;
  s.scoring = c.scoring_func;
  s.method = c.topk_method;
  s.n_experts = c.n_routed_experts.value_or(0);
  s.top_k = c.num_experts_per_tok;
  s.n_group = c.n_group;
  s.topk_group = c.topk_group;
  s.norm_topk_prob = c.norm_topk_prob;
  s.routed_scaling_factor = c.routed_scaling_factor;
  return s;
}

namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

// Index of the largest value not yet taken; ties go to the lower index.
std::int64_t argmax_excluding(std::span<const float> v, std::span<const float> taken) {
  std::int64_t best = -1;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(v.size()); ++i) {
    if (taken[i] != 0.0f) continue;
    if (best < 0 || v[i] > v[best]) best = i;
  }
  return best;
}

}  // namespace

void route_token(const RouterSpec& spec, std::span<float> logits, std::span<const float> bias,
                 std::span<float> scratch, std::span<std::int32_t> experts,
                 std::span<float> weights) {
  const std::int64_t n = spec.n_experts;
  // scores s
  if (spec.scoring == ScoringFunc::kSoftmax) {
    softmax(logits.data(), n);
  } else {
    for (std::int64_t e = 0; e < n; ++e) logits[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  std::span<const float> scores = logits;
  // selection values c (biased for noaux_tc only)
  std::span<float> select = scratch.subspan(0, n);
  for (std::int64_t e = 0; e < n; ++e)
    select[e] = scores[e] + (spec.method == TopkMethod::kNoauxTc && !bias.empty() ? bias[e] : 0.0f);

  if (spec.method != TopkMethod::kGreedy && spec.n_group > 1) {
    const std::int64_t group_size = n / spec.n_group;
    std::span<float> group_score = scratch.subspan(n, spec.n_group);
    for (std::int64_t g = 0; g < spec.n_group; ++g) {
      const float* v = select.data() + g * group_size;
      if (spec.method == TopkMethod::kGroupLimitedGreedy) {
        group_score[g] = *std::max_element(v, v + group_size);  // V2: max
      } else {                                                  // V3: sum of the top two
        float a = kMasked, b = kMasked;
        for (std::int64_t i = 0; i < group_size; ++i) {
          if (v[i] > a) {
            b = a;
            a = v[i];
          } else if (v[i] > b) {
            b = v[i];
          }
        }
        group_score[g] = a + b;
      }
    }
    std::span<float> kept = scratch.subspan(2 * n, spec.n_group);
    std::fill(kept.begin(), kept.end(), 0.0f);
    for (std::int64_t k = 0; k < spec.topk_group; ++k)
      kept[argmax_excluding(group_score, kept)] = 1.0f;
    for (std::int64_t g = 0; g < spec.n_group; ++g)
      if (kept[g] == 0.0f)
        std::fill(select.begin() + g * group_size, select.begin() + (g + 1) * group_size, kMasked);
  }

  std::span<float> taken = scratch.subspan(3 * n, n);
  std::fill(taken.begin(), taken.end(), 0.0f);
  float sum = 0.0f;
  for (std::int64_t k = 0; k < spec.top_k; ++k) {
    const std::int64_t e = argmax_excluding(select, taken);
    taken[e] = 1.0f;
    experts[k] = static_cast<std::int32_t>(e);
    weights[k] = scores[e];
    sum += scores[e];
  }
  if (spec.norm_topk_prob && spec.top_k > 1)
    for (std::int64_t k = 0; k < spec.top_k; ++k) weights[k] /= (sum + 1e-20f);
  for (std::int64_t k = 0; k < spec.top_k; ++k)
    weights[k] *= static_cast<float>(spec.routed_scaling_factor);
}

}  // namespace whale
