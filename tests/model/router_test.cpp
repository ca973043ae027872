// DeepSeekMoE routing on crafted scores (docs section 6.2): greedy, group_limited_greedy with
// group max, noaux_tc with biased sum-of-top-2 group scores, -inf masking, ties, weights.
#include "model/router.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/test_support.h"

namespace whale {
namespace {

struct Routed {
  std::vector<std::int32_t> experts;
  std::vector<float> weights;
};

Routed route(const RouterSpec& spec, std::vector<float> logits, std::vector<float> bias = {}) {
  std::vector<float> scratch(static_cast<std::size_t>(4 * spec.n_experts));
  Routed r{std::vector<std::int32_t>(static_cast<std::size_t>(spec.top_k)),
           std::vector<float>(static_cast<std::size_t>(spec.top_k))};
  route_token(spec, logits, bias, scratch, r.experts, r.weights);
  return r;
}

// Logit whose sigmoid is p.
float logit_of(double p) {
  return static_cast<float>(std::log(p / (1 - p)));
}

std::vector<double> softmax_of(const std::vector<float>& logits) {
  double max = logits[0], sum = 0;
  for (float l : logits) max = std::max(max, static_cast<double>(l));
  std::vector<double> p;
  for (float l : logits) sum += std::exp(l - max);
  for (float l : logits) p.push_back(std::exp(l - max) / sum);
  return p;
}

RouterSpec spec(ScoringFunc scoring, TopkMethod method, std::int64_t n, std::int64_t k,
                std::int64_t groups = 1, std::int64_t keep = 1) {
  RouterSpec s;
  s.scoring = scoring;
  s.method = method;
  s.n_experts = n;
  s.top_k = k;
  s.n_group = groups;
  s.topk_group = keep;
  return s;
}

TEST(Router, GreedyTakesTheTopKSoftmaxScoresBestFirst) {
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 3.0f, 0.5f, 2.5f, 0.0f, 1.0f};
  const Routed r = route(spec(ScoringFunc::kSoftmax, TopkMethod::kGreedy, 8, 3), logits);
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{3, 5, 1}));
  const auto p = softmax_of(logits);
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(r.weights[j], p[r.experts[j]], 1e-7);
}

TEST(Router, GreedyIgnoresGroups) {
  // group_limited settings on a greedy router change nothing (V2-Lite: n_group 1 anyway).
  const std::vector<float> logits = {5, 4, 0, 0, 3, 0, 0, 0};
  const Routed r = route(spec(ScoringFunc::kSoftmax, TopkMethod::kGreedy, 8, 3, 4, 1), logits);
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{0, 1, 4}));
}

TEST(Router, GroupLimitedGreedyScoresGroupsByTheirMax) {
  // 4 groups of 2. By max the kept groups are 0 (5) and 2 (4.5); by sum group 1 (4 + 4) would win.
  const std::vector<float> logits = {5, -5, 4, 4, 4.5f, -9, 0, 0};
  const Routed r =
      route(spec(ScoringFunc::kSoftmax, TopkMethod::kGroupLimitedGreedy, 8, 3, 4, 2), logits);
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{0, 4, 1}));  // -5 beats 4 from a dropped group
  const auto p = softmax_of(logits);  // weights are the scores over all experts
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(r.weights[j], p[r.experts[j]], 1e-7);
}

TEST(Router, NoauxTcScoresGroupsBySumOfTheirTopTwoBiasedScores) {
  // 4 groups of 4, keep 2, top 4. Group 0 has the single best expert but a weak second; by
  // max it would be kept, by sum of the top two groups 1 and 3 win.
  std::vector<double> s = {0.95, 0.10, 0.05, 0.05,   // sum 1.05, max 0.95
                           0.80, 0.75, 0.10, 0.10,   // sum 1.55
                           0.60, 0.40, 0.30, 0.20,   // sum 1.00
                           0.70, 0.70, 0.65, 0.01};  // sum 1.40
  std::vector<float> logits;
  for (double v : s) logits.push_back(logit_of(v));
  RouterSpec sp = spec(ScoringFunc::kSigmoid, TopkMethod::kNoauxTc, 16, 4, 4, 2);
  const Routed r = route(sp, logits, std::vector<float>(16, 0.0f));
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{4, 5, 12, 13}));
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(r.weights[j], s[r.experts[j]], 1e-6);
}

TEST(Router, NoauxTcBiasChoosesButDoesNotWeigh) {
  // Expert 1 has the lower score but a bias that lifts its selection value above expert 0's.
  std::vector<double> s = {0.9, 0.6, 0.5, 0.1};
  std::vector<float> logits;
  for (double v : s) logits.push_back(logit_of(v));
  const std::vector<float> bias = {0.0f, 0.5f, 0.0f, 0.0f};
  RouterSpec sp = spec(ScoringFunc::kSigmoid, TopkMethod::kNoauxTc, 4, 1, 1, 1);
  const Routed r = route(sp, logits, bias);
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{1}));
  EXPECT_NEAR(r.weights[0], 0.6, 1e-6);  // the unbiased sigmoid score, not 1.1
}

TEST(Router, NoauxTcNeverChoosesAMaskedGroupEvenWhenAllowedScoresAreNegative) {
  // Every bias is -5, so every selection value inside the kept groups is negative. Masking the
  // dropped groups with 0.0 (as some HF code does) would then pick them; -inf must not.
  std::vector<double> s = {0.2, 0.1, 0.9, 0.8, 0.3, 0.3, 0.7, 0.9};  // groups of 2
  std::vector<float> logits;
  for (double v : s) logits.push_back(logit_of(v));
  RouterSpec sp = spec(ScoringFunc::kSigmoid, TopkMethod::kNoauxTc, 8, 4, 4, 2);
  const Routed r = route(sp, logits, std::vector<float>(8, -5.0f));
  // Kept groups: 1 (1.7 - 10) and 3 (1.6 - 10); all four of their experts, best first.
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{2, 7, 3, 6}));
  for (std::int32_t e : r.experts) EXPECT_TRUE(e / 2 == 1 || e / 2 == 3) << e;
}

TEST(Router, NegativeBiasesCanDropAGroup) {
  // Group 0 holds the two best scores but a bias of -1 on both sinks its group score.
  std::vector<double> s = {0.9, 0.9, 0.5, 0.5, 0.4, 0.4};  // groups of 2
  std::vector<float> logits;
  for (double v : s) logits.push_back(logit_of(v));
  RouterSpec sp = spec(ScoringFunc::kSigmoid, TopkMethod::kNoauxTc, 6, 2, 3, 1);
  const Routed r = route(sp, logits, {-1.0f, -1.0f, 0.0f, 0.0f, 0.0f, 0.0f});
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{2, 3}));
}

TEST(Router, TiesGoToTheLowerIndex) {
  const Routed flat =
      route(spec(ScoringFunc::kSoftmax, TopkMethod::kGreedy, 6, 3), std::vector<float>(6, 0.0f));
  EXPECT_EQ(flat.experts, (std::vector<std::int32_t>{0, 1, 2}));
  const Routed pair = route(spec(ScoringFunc::kSoftmax, TopkMethod::kGreedy, 4, 1), {1, 2, 2, 0});
  EXPECT_EQ(pair.experts, (std::vector<std::int32_t>{1}));
  // Equal group scores: the lower group is kept.
  const Routed groups =
      route(spec(ScoringFunc::kSoftmax, TopkMethod::kGroupLimitedGreedy, 8, 2, 4, 1),
            {1, 0, 0, 1, 1, 0, 0, 1});
  EXPECT_EQ(groups.experts, (std::vector<std::int32_t>{0, 1}));
  const Routed sig = route(spec(ScoringFunc::kSigmoid, TopkMethod::kNoauxTc, 8, 2, 4, 1),
                           std::vector<float>(8, 0.0f), std::vector<float>(8, 0.0f));
  EXPECT_EQ(sig.experts, (std::vector<std::int32_t>{0, 1}));
}

TEST(Router, NormTopkProbRenormalisesThenRoutedScalingMultiplies) {
  std::vector<double> s = {0.9, 0.6, 0.3, 0.2};
  std::vector<float> logits;
  for (double v : s) logits.push_back(logit_of(v));
  RouterSpec sp = spec(ScoringFunc::kSigmoid, TopkMethod::kNoauxTc, 4, 2, 1, 1);
  sp.norm_topk_prob = true;
  sp.routed_scaling_factor = 2.5;
  const Routed r = route(sp, logits, std::vector<float>(4, 0.0f));
  EXPECT_EQ(r.experts, (std::vector<std::int32_t>{0, 1}));
  EXPECT_NEAR(r.weights[0], 0.9 / 1.5 * 2.5, 1e-6);
  EXPECT_NEAR(r.weights[1], 0.6 / 1.5 * 2.5, 1e-6);
  EXPECT_NEAR(r.weights[0] + r.weights[1], 2.5, 1e-6);

  sp.norm_topk_prob = false;  // V2: scores times the factor
  sp.routed_scaling_factor = 16.0;
  const Routed v2 = route(sp, logits, std::vector<float>(4, 0.0f));
  EXPECT_NEAR(v2.weights[0], 0.9 * 16, 1e-5);
  EXPECT_NEAR(v2.weights[1], 0.6 * 16, 1e-5);

  sp.norm_topk_prob = true;  // a single expert is never renormalised (HF: top_k > 1)
  sp.routed_scaling_factor = 1.0;
  sp.top_k = 1;
  const Routed one = route(sp, logits, std::vector<float>(4, 0.0f));
  EXPECT_NEAR(one.weights[0], 0.9, 1e-6);
}

TEST(Router, SpecFollowsTheConfig) {
  DeepSeekConfig c;
  c.scoring_func = ScoringFunc::kSigmoid;
  c.topk_method = TopkMethod::kNoauxTc;
  c.n_routed_experts = 256;
  c.num_experts_per_tok = 8;
  c.n_group = 8;
  c.topk_group = 4;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  const RouterSpec s = RouterSpec::from_config(c);
  EXPECT_EQ(s.scoring, ScoringFunc::kSigmoid);
  EXPECT_EQ(s.method, TopkMethod::kNoauxTc);
  EXPECT_EQ(s.n_experts, 256);
  EXPECT_EQ(s.top_k, 8);
  EXPECT_EQ(s.n_group, 8);
  EXPECT_EQ(s.topk_group, 4);
  EXPECT_TRUE(s.norm_topk_prob);
  EXPECT_EQ(s.routed_scaling_factor, 2.5);
}

}  // namespace
}  // namespace whale
