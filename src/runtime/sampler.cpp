#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace whale {

void SamplingParams::validate() const {
  if (!(temperature >= 0.0) || temperature > 100.0)
    fail("temperature: {} is outside [0, 100]", temperature);
  if (!(top_p > 0.0 && top_p <= 1.0)) fail("top_p: {} is outside (0, 1]", top_p);
  if (top_k < 0) fail("top_k: {} must be 0 (off) or positive", top_k);
  if (!(min_p >= 0.0 && min_p < 1.0)) fail("min_p: {} is outside [0, 1)", min_p);
  if (!(frequency_penalty >= -2.0 && frequency_penalty <= 2.0))
    fail("frequency_penalty: {} is outside [-2, 2]", frequency_penalty);
  if (!(presence_penalty >= -2.0 && presence_penalty <= 2.0))
    fail("presence_penalty: {} is outside [-2, 2]", presence_penalty);
  if (!(repetition_penalty > 0.0 && repetition_penalty <= 10.0))
    fail("repetition_penalty: {} is outside (0, 10]", repetition_penalty);
}

Sampler::Sampler(const SamplingParams& params, std::int64_t vocab_limit)
    : params_(params), vocab_limit_(vocab_limit), rng_(params.seed) {
  params_.validate();
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::int32_t Sampler::sample(std::span<const float> logits,
                             std::span<const std::int32_t> history) {
  const std::int64_t n = vocab_limit_ > 0 ? std::min<std::int64_t>(vocab_limit_, logits.size())
                                          : static_cast<std::int64_t>(logits.size());
  if (n <= 0) fail("sampler: empty logits");
  work_.assign(logits.begin(), logits.begin() + n);

  const bool penalize = params_.frequency_penalty != 0.0 || params_.presence_penalty != 0.0 ||
                        params_.repetition_penalty != 1.0;
  if (penalize && !history.empty()) {
    counts_.assign(static_cast<std::size_t>(n), 0);
    for (const std::int32_t t : history)
      if (t >= 0 && t < n) ++counts_[t];
    for (const std::int32_t t : history) {
      if (t < 0 || t >= n || counts_[t] == 0) continue;
      float& l = work_[t];
      if (params_.repetition_penalty != 1.0)
        l = l > 0 ? static_cast<float>(l / params_.repetition_penalty)
                  : static_cast<float>(l * params_.repetition_penalty);
      l -= static_cast<float>(params_.frequency_penalty * counts_[t] + params_.presence_penalty);
      counts_[t] = 0;  // each distinct token once
    }
  }

  std::int32_t best = 0;
  for (std::int64_t v = 1; v < n; ++v)
    if (work_[v] > work_[best]) best = static_cast<std::int32_t>(v);
  if (params_.temperature == 0.0 || params_.top_k == 1) return best;

  // Candidates: tokens whose tempered probability relative to the best exceeds e^-40; the rest
  // cannot matter at double precision after normalisation.
  const double inv_t = 1.0 / params_.temperature;
  const float cutoff = static_cast<float>(work_[best] - 40.0 * params_.temperature);
  candidates_.clear();
  for (std::int64_t v = 0; v < n; ++v)
    if (work_[v] >= cutoff) candidates_.push_back(static_cast<std::int32_t>(v));
  const auto by_logit = [&](std::int32_t a, std::int32_t b) {
    return work_[a] > work_[b] || (work_[a] == work_[b] && a < b);
  };
  if (params_.top_k > 0 && static_cast<std::int64_t>(candidates_.size()) > params_.top_k) {
    std::nth_element(candidates_.begin(), candidates_.begin() + params_.top_k, candidates_.end(),
                     by_logit);
    candidates_.resize(static_cast<std::size_t>(params_.top_k));
  }
  // Tempered, unnormalised probabilities; top-p measures mass against all candidates.
  const auto weight = [&](std::int32_t v) { return std::exp((work_[v] - work_[best]) * inv_t); };
  double total = 0.0;
  for (const std::int32_t v : candidates_) total += weight(v);

  // Keep the best tokens: by top-p (the smallest prefix holding top_p of the mass) and by min-p
  // (p >= min_p * p(best)). Both cut a prefix of the sorted candidates, so only a prefix needs
  // sorting: grow it until it holds the nucleus.
  std::size_t keep = candidates_.size();
  if (params_.top_p < 1.0 || params_.min_p > 0.0) {
    std::size_t k = std::min<std::size_t>(candidates_.size(), 1024);
    for (;;) {
      if (k < candidates_.size())
        std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k),
                         candidates_.end(), by_logit);
      std::sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(k), by_logit);
      double cumulative = 0.0;
      std::size_t nucleus = k + 1;  // not found within the prefix
      if (params_.top_p < 1.0) {
        for (std::size_t i = 0; i < k; ++i) {
          cumulative += weight(candidates_[i]);
          if (cumulative >= params_.top_p * total) {
            nucleus = i + 1;
            break;
          }
        }
      }
      std::size_t by_min_p = k + 1;
      if (params_.min_p > 0.0) {
        std::size_t i = 1;
        while (i < k && weight(candidates_[i]) >= params_.min_p) ++i;  // weight(best) == 1
        if (i < k) by_min_p = i;
      }
      const std::size_t cut = std::min(nucleus, by_min_p);
      if (cut <= k) {
        keep = cut;
        break;
      }
      if (params_.top_p >= 1.0 && params_.min_p > 0.0 && k == candidates_.size()) break;
      if (k == candidates_.size()) {
        keep = k;
        break;
      }
      k = std::min(candidates_.size(), k * 4);
    }
  }
  double kept_total = 0.0;
  for (std::size_t i = 0; i < keep; ++i) kept_total += weight(candidates_[i]);
  double r = uniform() * kept_total;
  for (std::size_t i = 0; i < keep; ++i) {
    r -= weight(candidates_[i]);
    if (r < 0.0) return candidates_[i];
  }
  return candidates_[keep - 1];
}

}  // namespace whale
