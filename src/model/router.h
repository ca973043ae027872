// DeepSeekMoE routing (docs section 6.2): scores from router logits, group-limited selection,
// weights from the unbiased scores, renormalisation and routed scaling.
#pragma once

#include <cstdint>
#include <span>

#include "io/deepseek_config.h"

namespace whale {

struct RouterSpec {
  ScoringFunc scoring = ScoringFunc::kSoftmax;
  TopkMethod method = TopkMethod::kGreedy;
  std::int64_t n_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t n_group = 1;
  std::int64_t topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;

  static RouterSpec from_config(const DeepSeekConfig& config);
};

// Routes one token. `logits` [n_experts] is modified (it becomes the scores); `bias` is the
// e_score_correction_bias for noaux_tc (empty otherwise); `scratch` holds 4 * n_experts floats.
// Writes top_k expert ids to `experts` (in selection order: best first, ties to the lower id)
// and their weights to `weights`.
void route_token(const RouterSpec& spec, std::span<float> logits, std::span<const float> bias,
                 std::span<float> scratch, std::span<std::int32_t> experts,
                 std::span<float> weights);

}  // namespace whale
