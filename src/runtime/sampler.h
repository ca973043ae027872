// Picks the next token from logits: penalties, temperature, top-k, top-p, min-p, seeded draw.
// Order (as vLLM and DeepSeek's API apply them): frequency/presence/repetition penalties on the
// raw logits, then temperature, then top-k, top-p and min-p on the tempered distribution.
// Temperature 0 is greedy (argmax, ties to the lower id).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace whale {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;        // (0, 1]
  std::int64_t top_k = 0;    // 0: off
  double min_p = 0.0;        // [0, 1): drop tokens below min_p * p(best)
  double frequency_penalty = 0.0;   // OpenAI: logit -= f * count
  double presence_penalty = 0.0;    // OpenAI: logit -= p * (count > 0)
  double repetition_penalty = 1.0;  // CTRL / HF: divide positive logits, multiply negative
  std::uint64_t seed = 0;

  // Throws whale::Error naming the field when a value is out of range.
  void validate() const;
};

class Sampler {
 public:
  // `vocab_limit`: ids at or above it are never sampled (the embedding's padding rows beyond
  // the tokenizer, docs section 9); 0 means the whole logits row.
  Sampler(const SamplingParams& params, std::int64_t vocab_limit = 0);

  // `history`: the tokens penalties count (prompt and generated, as the caller chooses).
  std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);
  void reseed(std::uint64_t seed) { rng_.seed(seed); }
  const SamplingParams& params() const { return params_; }

 private:
  double uniform();  // [0, 1), 53 random bits

  SamplingParams params_;
  std::int64_t vocab_limit_;
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<std::int32_t> candidates_;
  std::vector<std::int32_t> counts_;
};

}  // namespace whale
