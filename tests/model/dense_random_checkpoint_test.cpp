// make-model's dense shapes: the published parameter counts of the DeepSeek-R1-Distill models,
// and a written checkpoint that DenseModel loads and runs.
#include <gtest/gtest.h>

#include <cmath>

#include "model/dense.h"
#include "model/load.h"
#include "model/random_checkpoint.h"
#include "support/test_support.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

std::int64_t parameters(const std::string& shape) {
  std::int64_t n = 0;
  for (const auto& t :
       random_dense_checkpoint_tensors(*dense_model_shape(shape), WeightFormat::kBF16)) {
    std::int64_t e = 1;
    for (std::int64_t d : t.shape) e *= d;
    n += e;
  }
  return n;
}

TEST(DenseRandomCheckpoint, ShapesHaveThePublishedParameterCounts) {
  // Hugging Face's model cards: 1.78B, 7.62B, 8.03B parameters.
  EXPECT_EQ(parameters("qwen2-1.5b"), 1'777'088'000);
  EXPECT_EQ(parameters("qwen2-7b"), 7'615'616'512);
  EXPECT_EQ(parameters("llama-8b"), 8'030'261'248);
  EXPECT_FALSE(dense_model_shape("v3"));
}

TEST(DenseRandomCheckpoint, WrittenCheckpointLoadsAndRuns) {
  test::TempDir dir;
  ThreadPool pool(2);
  RandomCheckpointOptions options;
  options.seed = 7;
  write_random_dense_checkpoint(dir.str(), *dense_model_shape("qwen2-tiny"), options, pool);
  auto model = load_model(dir.str());
  ASSERT_NE(dynamic_cast<DenseModel*>(model.get()), nullptr);
  EXPECT_EQ(model->summary().total_parameters, parameters("qwen2-tiny"));
  auto cache = model->create_cache(1, 8, CacheDType::kF32);
  ForwardResult r;
  const std::vector<BatchToken> batch = {{1, 0, 0, false}, {2, 0, 1, false}, {3, 0, 2, true}};
  model->forward(batch, *cache, pool, {}, r);
  ASSERT_EQ(r.logits.size(), 1024u);
  float spread = 0;
  for (float v : r.logits) {
    ASSERT_TRUE(std::isfinite(v));
    spread = std::max(spread, std::fabs(v));
  }
  EXPECT_GT(spread, 0.5f);  // logits of a few units, as make-model scales its weights
  EXPECT_WHALE_ERROR(
      {
        RandomCheckpointOptions fp8;
        fp8.format = WeightFormat::kFp8;
        test::TempDir other;
        write_random_dense_checkpoint(other.str(), *dense_model_shape("qwen2-tiny"), fp8, pool);
      },
      "fp8");
}

}  // namespace
}  // namespace whale
