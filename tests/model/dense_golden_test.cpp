// Exactness of the dense Qwen2 / Llama forward pass against the float64 reference of
// tests/data/golden-dense/README.md: every logits row of every case within 3e-4 (the F32
// agreement of two independent computations is ~3e-6), greedy tokens identical, results
// independent of the thread count and of how tokens are batched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/dense_loader.h"
#include "model/load.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

constexpr float kTolerance = 3e-4f;

struct DenseCase {
  std::string name;
  std::vector<std::int32_t> ids;
  std::int64_t prefill = 0;
  std::vector<float> logits;  // [ids, vocab]
  std::int64_t greedy_prompt_len = 0;
  std::vector<std::int32_t> greedy;
};

std::string folder_path(const std::string& folder) {
  return std::string(WHALE_TEST_DATA) + "/golden-dense/" + folder;
}

std::vector<DenseCase> load_cases(const std::string& folder) {
  const std::string dir = folder_path(folder);
  std::ifstream in(dir + "/cases.json");
  const auto cases = nlohmann::json::parse(in);
  std::vector<DenseCase> out;
  for (const auto& c : cases) {
    DenseCase g;
    g.name = c["name"];
    g.ids = c["ids"].get<std::vector<std::int32_t>>();
    g.prefill = c["prefill"];
    g.greedy_prompt_len = c["greedy_prompt_len"];
    g.greedy = c["greedy"].get<std::vector<std::int32_t>>();
    std::ifstream lf(dir + "/" + c["logits"].get<std::string>(), std::ios::binary);
    lf.seekg(0, std::ios::end);
    g.logits.resize(static_cast<std::size_t>(lf.tellg()) / 4);
    lf.seekg(0);
    lf.read(reinterpret_cast<char*>(g.logits.data()),
            static_cast<std::streamsize>(g.logits.size() * 4));
    out.push_back(std::move(g));
  }
  return out;
}

// Feeds ids[0:prefill] in one call, then one id per call; logits of every position.
std::vector<float> run_case(Model& model, const std::vector<std::int32_t>& ids,
                            std::int64_t prefill, int threads,
                            CacheDType cache_dtype = CacheDType::kF32) {
  ThreadPool pool(threads);
  const auto n = static_cast<std::int64_t>(ids.size());
  auto cache = model.create_cache(1, n, cache_dtype);
  std::vector<float> out;
  ForwardResult r;
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t count = done == 0 ? prefill : 1;
    std::vector<BatchToken> batch;
    for (std::int64_t i = 0; i < count; ++i) batch.push_back({ids[done + i], 0, done + i, true});
    model.forward(batch, *cache, pool, {}, r);
    out.insert(out.end(), r.logits.begin(), r.logits.end());
    done += count;
  }
  return out;
}

std::vector<std::int32_t> greedy(Model& model, const std::vector<std::int32_t>& prompt,
                                 std::int64_t steps) {
  ThreadPool pool(2);
  const std::int64_t V = model.summary().vocab_size;
  auto cache =
      model.create_cache(1, static_cast<std::int64_t>(prompt.size()) + steps, CacheDType::kF32);
  std::vector<BatchToken> batch;
  for (std::size_t i = 0; i < prompt.size(); ++i)
    batch.push_back({prompt[i], 0, static_cast<std::int64_t>(i), i + 1 == prompt.size()});
  std::vector<std::int32_t> out;
  ForwardResult r;
  for (std::int64_t s = 0; s < steps; ++s) {
    model.forward(batch, *cache, pool, {}, r);
    const auto best = std::max_element(r.logits.begin(), r.logits.begin() + V) - r.logits.begin();
    out.push_back(static_cast<std::int32_t>(best));
    batch = {
        {static_cast<std::int32_t>(best), 0, static_cast<std::int64_t>(prompt.size()) + s, true}};
  }
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

class DenseGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DenseGoldenTest, LoadModelDispatchesToDenseModel) {
  auto model = load_model(folder_path(GetParam()));
  auto* dense = dynamic_cast<DenseModel*>(model.get());
  ASSERT_NE(dense, nullptr);
  const ModelSummary& s = model->summary();
  EXPECT_EQ(s.architecture, GetParam() == "qwen2-tiny" ? "qwen2" : "llama");
  EXPECT_EQ(s.vocab_size, 1024);
  // 2 layers x 2 (K and V) x 2 KV heads x 16 dims.
  EXPECT_EQ(s.kv_values_per_token, 2 * 2 * 2 * 16);
  EXPECT_EQ(s.experts_per_token, 0);
  // Every tensor of the file is a parameter (embedding and untied head counted once each).
  std::int64_t stored = 0;
  for (const auto& [name, info] : dense->source().tensors()) stored += info->numel();
  EXPECT_EQ(s.total_parameters, stored);
}

TEST_P(DenseGoldenTest, LogitsAtEveryPositionWithinTolerance) {
  auto model = load_dense_folder(folder_path(GetParam()));
  const std::int64_t V = model->summary().vocab_size;
  for (const auto& c : load_cases(GetParam())) {
    const std::vector<float> out = run_case(*model, c.ids, c.prefill, 1);
    ASSERT_EQ(out.size(), c.logits.size()) << c.name;
    float worst = 0.0f;
    std::int64_t worst_row = 0;
    for (std::size_t i = 0; i < c.logits.size(); ++i) {
      ASSERT_TRUE(std::isfinite(out[i])) << c.name << " index " << i;
      const float err = std::fabs(out[i] - c.logits[i]);
      if (err > worst) {
        worst = err;
        worst_row = static_cast<std::int64_t>(i) / V;
      }
    }
    EXPECT_LE(worst, kTolerance) << GetParam() << "/" << c.name << " worst row " << worst_row;
    RecordProperty(c.name + "_max_abs_error", std::to_string(worst));
    std::printf("[golden-dense] %s/%s: max |logit error| %.3g over %zu rows\n", GetParam().c_str(),
                c.name.c_str(), worst, c.ids.size());
  }
}

TEST_P(DenseGoldenTest, GreedyTokensIdentical) {
  auto model = load_dense_folder(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const std::vector<std::int32_t> prompt(c.ids.begin(), c.ids.begin() + c.greedy_prompt_len);
    EXPECT_EQ(greedy(*model, prompt, static_cast<std::int64_t>(c.greedy.size())), c.greedy)
        << c.name;
  }
}

TEST_P(DenseGoldenTest, OneAndTwoThreadsBitIdentical) {
  auto model = load_dense_folder(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const std::vector<float> one = run_case(*model, c.ids, c.prefill, 1);
    const std::vector<float> two = run_case(*model, c.ids, c.prefill, 2);
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * 4)) << c.name;
  }
}

TEST_P(DenseGoldenTest, DecodeThroughCacheEqualsRecompute) {
  auto model = load_dense_folder(folder_path(GetParam()));
  for (const auto& c : load_cases(GetParam())) {
    const auto n = static_cast<std::int64_t>(c.ids.size());
    const std::vector<float> decoded = run_case(*model, c.ids, 1, 2);
    const std::vector<float> recomputed = run_case(*model, c.ids, n, 2);
    EXPECT_LE(max_abs_diff(decoded, recomputed), 1e-4f) << c.name;
  }
}

TEST_P(DenseGoldenTest, SequencesBatchedTogetherMatchRunAlone) {
  // Two cases' prompts interleaved in one batch, each in its own cache slot.
  auto model = load_dense_folder(folder_path(GetParam()));
  const auto cases = load_cases(GetParam());
  const DenseCase& a = cases[0];
  const DenseCase& b = cases[2];
  ThreadPool pool(2);
  const std::int64_t V = model->summary().vocab_size;
  auto cache = model->create_cache(2, 64, CacheDType::kF32);
  std::vector<BatchToken> batch;
  const std::size_t n = std::max(a.ids.size(), b.ids.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (i < a.ids.size()) batch.push_back({a.ids[i], 0, static_cast<std::int64_t>(i), true});
    if (i < b.ids.size()) batch.push_back({b.ids[i], 1, static_cast<std::int64_t>(i), true});
  }
  ForwardResult r;
  model->forward(batch, *cache, pool, {}, r);
  std::vector<float> got_a, got_b;
  for (std::size_t j = 0; j < batch.size(); ++j)
    (batch[j].seq == 0 ? got_a : got_b)
        .insert((batch[j].seq == 0 ? got_a : got_b).end(), r.logits.begin() + j * V,
                r.logits.begin() + (j + 1) * V);
  EXPECT_LE(max_abs_diff(got_a, a.logits), kTolerance);
  EXPECT_LE(max_abs_diff(got_b, b.logits), kTolerance);
}

TEST_P(DenseGoldenTest, Bf16CacheCloseToF32) {
  auto model = load_dense_folder(folder_path(GetParam()));
  const std::int64_t V = model->summary().vocab_size;
  for (const auto& c : load_cases(GetParam())) {
    const std::vector<float> f32 = run_case(*model, c.ids, c.prefill, 2, CacheDType::kF32);
    const std::vector<float> bf16 = run_case(*model, c.ids, c.prefill, 2, CacheDType::kBF16);
    const float diff = max_abs_diff(f32, bf16);
    EXPECT_GT(diff, 0.0f) << c.name << ": the BF16 cache should round something";
    EXPECT_LE(diff, 0.1f) << c.name;
    std::int64_t same = 0;
    const auto rows = static_cast<std::int64_t>(c.ids.size());
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* x = f32.data() + r * V;
      const float* y = bf16.data() + r * V;
      same += (std::max_element(x, x + V) - x) == (std::max_element(y, y + V) - y);
    }
    EXPECT_GE(same, rows - 1) << c.name;
  }
}

TEST_P(DenseGoldenTest, RejectsPositionsThatSkip) {
  auto model = load_dense_folder(folder_path(GetParam()));
  ThreadPool pool(1);
  auto cache = model->create_cache(1, 8, CacheDType::kF32);
  ForwardResult r;
  const std::vector<BatchToken> batch = {{5, 0, 0, false}, {6, 0, 2, true}};
  EXPECT_THROW(model->forward(batch, *cache, pool, {}, r), Error);
}

INSTANTIATE_TEST_SUITE_P(Folders, DenseGoldenTest, ::testing::Values("qwen2-tiny", "llama-tiny"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace whale
