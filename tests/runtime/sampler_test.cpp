#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/error.h"

namespace whale {
namespace {

TEST(SamplerTest, TemperatureZeroIsArgmaxWithTiesToLowerId) {
  Sampler s({.temperature = 0.0});
  const std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(SamplerTest, SameSeedSameDraws) {
  std::vector<float> logits(1000);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i)) * 3;
  Sampler a({.temperature = 1.0, .seed = 42}), b({.temperature = 1.0, .seed = 42}),
      c({.temperature = 1.0, .seed = 43});
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const auto x = a.sample(logits, {}), y = b.sample(logits, {}), z = c.sample(logits, {});
    EXPECT_EQ(x, y);
    differ += x != z;
  }
  EXPECT_GT(differ, 50);
}

TEST(SamplerTest, DrawsFollowTheTemperedDistribution) {
  // p(1) / p(0) = e^(ln 3 / T); with T = 1 that is 3, so p(1) = 0.75.
  const std::vector<float> logits = {0.0f, static_cast<float>(std::log(3.0))};
  Sampler s({.temperature = 1.0, .seed = 7});
  int ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ones += s.sample(logits, {}) == 1;
  EXPECT_NEAR(static_cast<double>(ones) / n, 0.75, 0.015);
  // T = 2: ratio sqrt(3), p(1) = sqrt(3) / (1 + sqrt(3)).
  Sampler hot({.temperature = 2.0, .seed = 7});
  ones = 0;
  for (int i = 0; i < n; ++i) ones += hot.sample(logits, {}) == 1;
  EXPECT_NEAR(static_cast<double>(ones) / n, std::sqrt(3.0) / (1 + std::sqrt(3.0)), 0.015);
}

TEST(SamplerTest, TopKTopPAndMinPCutTheTail) {
  const std::vector<float> logits = {3.0f, 2.9f, 0.0f, -1.0f, 2.8f};
  Sampler k2({.temperature = 5.0, .top_k = 2, .seed = 1});
  Sampler p({.temperature = 1.0, .top_p = 0.01, .seed = 1});
  Sampler m({.temperature = 5.0, .min_p = 0.9, .seed = 1});
  for (int i = 0; i < 500; ++i) {
    const auto a = k2.sample(logits, {});
    EXPECT_TRUE(a == 0 || a == 1) << a;
    EXPECT_EQ(p.sample(logits, {}), 0);
    const auto c = m.sample(logits, {});
    EXPECT_TRUE(c == 0 || c == 1 || c == 4) << c;
  }
}

TEST(SamplerTest, PaddingRowsBeyondTheVocabularyLimitAreNeverSampled) {
  const std::vector<float> logits = {0.0f, 0.0f, 100.0f};
  Sampler greedy({.temperature = 0.0}, 2);
  EXPECT_NE(greedy.sample(logits, {}), 2);
  Sampler hot({.temperature = 1.0, .seed = 3}, 2);
  for (int i = 0; i < 100; ++i) EXPECT_NE(hot.sample(logits, {}), 2);
}

TEST(SamplerTest, PenaltiesPushAwayFromRepeatedTokens) {
  const std::vector<float> logits = {1.0f, 1.2f, 0.5f};
  const std::vector<std::int32_t> history = {1, 1, 1};
  EXPECT_EQ(Sampler({.temperature = 0.0, .frequency_penalty = 0.1}).sample(logits, history), 0);
  EXPECT_EQ(Sampler({.temperature = 0.0, .presence_penalty = 0.3}).sample(logits, history), 0);
  EXPECT_EQ(Sampler({.temperature = 0.0, .repetition_penalty = 1.3}).sample(logits, history), 0);
  EXPECT_EQ(Sampler({.temperature = 0.0}).sample(logits, history), 1);
}

TEST(SamplerTest, OutOfRangeParametersNameTheField) {
  EXPECT_THROW(Sampler({.temperature = -1.0}), Error);
  try {
    Sampler({.top_p = 0.0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
  EXPECT_THROW(Sampler({.min_p = 1.0}), Error);
  EXPECT_THROW(Sampler({.repetition_penalty = 0.0}), Error);
}

}  // namespace
}  // namespace whale
