// Exactness against DeepSeek's reference (tests/data/golden/README.md): every logits row of
// every case within 3e-4, every MoE routing decision and every greedy token identical, for
// V2-Lite, V2, V3 FP8 and V3 BF16 semantics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/deepseek.h"
#include "model/golden_support.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

using namespace golden;

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, LogitsAtEveryPositionWithinTolerance) {
  DeepSeekModel model(folder_path(GetParam()));
  const std::int64_t V = model.summary().vocab_size;
  for (const auto& c : load_cases(GetParam())) {
    const RunOutput out = run_case(model, c.ids, c.prefill, 1);
    ASSERT_EQ(out.logits.size(), c.logits.size()) << c.name;
    float worst = 0.0f;
    std::int64_t worst_row = 0;
    for (std::size_t i = 0; i < c.logits.size(); ++i) {
      const float err = std::fabs(out.logits[i] - c.logits[i]);
      ASSERT_FALSE(std::isnan(out.logits[i])) << c.name << " index " << i;
      if (err > worst) {
        worst = err;
        worst_row = static_cast<std::int64_t>(i) / V;
      }
    }
    EXPECT_LE(worst, kTolerance) << GetParam() << "/" << c.name << " worst row " << worst_row;
    RecordProperty(c.name + "_max_abs_error", std::to_string(worst));
    std::printf("[golden] %s/%s: max |logit error| %.3g over %zu rows\n", GetParam().c_str(),
                c.name.c_str(), worst, c.ids.size());
  }
}

TEST_P(GoldenTest, ExpertChoicesIdenticalAtEveryPosition) {
  DeepSeekModel model(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const RunOutput out = run_case(model, c.ids, c.prefill, 2);
    ASSERT_EQ(out.experts.size(), c.experts.size()) << c.name;
    for (std::size_t j = 0; j < c.experts.size(); ++j) {
      ASSERT_EQ(out.experts[j].size(), c.experts[j].size());
      for (std::size_t p = 0; p < c.experts[j].size(); ++p)
        EXPECT_EQ(out.experts[j][p], c.experts[j][p])
            << c.name << " layer " << c.moe_layers[j] << " position " << p;
    }
  }
}

TEST_P(GoldenTest, GreedyTokensIdentical) {
  DeepSeekModel model(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const std::vector<std::int32_t> prompt(c.ids.begin(), c.ids.begin() + c.greedy_prompt_len);
    EXPECT_EQ(greedy(model, prompt, static_cast<std::int64_t>(c.greedy.size())), c.greedy) << c.name;
  }
}

TEST_P(GoldenTest, OneAndTwoThreadsBitIdentical) {
  DeepSeekModel model(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const RunOutput one = run_case(model, c.ids, c.prefill, 1);
    const RunOutput two = run_case(model, c.ids, c.prefill, 2);
    ASSERT_EQ(one.logits.size(), two.logits.size());
    EXPECT_EQ(0, std::memcmp(one.logits.data(), two.logits.data(), one.logits.size() * 4)) << c.name;
  }
}

TEST_P(GoldenTest, DecodeThroughCacheEqualsRecompute) {
  DeepSeekModel model(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const auto n = static_cast<std::int64_t>(c.ids.size());
    const RunOutput decoded = run_case(model, c.ids, 1, 2);     // everything through the cache
    const RunOutput recomputed = run_case(model, c.ids, n, 2);  // one prefill over all ids
    float worst = 0.0f;
    for (std::size_t i = 0; i < decoded.logits.size(); ++i)
      worst = std::max(worst, std::fabs(decoded.logits[i] - recomputed.logits[i]));
    EXPECT_LE(worst, 1e-4f) << c.name;
  }
}

TEST_P(GoldenTest, Bf16CacheKeepsTheArgmaxOfNearlyEveryRow) {
  // A BF16 latent cache rounds each cached value to 8 significant bits. That is not exact (it
  // can flip near-tie routing decisions, as the golden README shows for BF16 activations), so
  // the property checked is that the logits stay finite and the predicted token rarely moves.
  DeepSeekModel model(folder_path(GetParam()));
  const std::int64_t V = model.summary().vocab_size;
  std::int64_t rows = 0, same = 0;
  for (const auto& c : load_cases(GetParam())) {
    const RunOutput out = run_case(model, c.ids, c.prefill, 2, CacheDType::kBF16);
    ASSERT_EQ(out.logits.size(), c.logits.size());
    for (std::size_t r = 0; r < c.ids.size(); ++r) {
      const float* a = out.logits.data() + r * V;
      const float* b = c.logits.data() + r * V;
      for (std::int64_t v = 0; v < V; ++v) ASSERT_TRUE(std::isfinite(a[v]));
      same += (std::max_element(a, a + V) - a) == (std::max_element(b, b + V) - b);
      ++rows;
    }
  }
  EXPECT_GE(static_cast<double>(same) / static_cast<double>(rows), 0.9) << same << "/" << rows;
}

INSTANTIATE_TEST_SUITE_P(Folders, GoldenTest,
                         ::testing::Values("v2-lite-tiny", "v2-tiny", "v3-tiny-fp8", "v3-tiny-bf16"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace whale
