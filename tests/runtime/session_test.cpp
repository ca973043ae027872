#include "runtime/session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/load.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

std::string folder() { return std::string(WHALE_TEST_DATA) + "/golden/v3-tiny-fp8"; }

TEST(SessionTest, ReusingACachedPrefixGivesTheSameLogitsAsStartingOver) {
  auto model = load_model(folder());
  ThreadPool pool(2);
  const std::vector<std::int32_t> turn1 = {5, 17, 300, 42, 8};
  std::vector<std::int32_t> turn2 = turn1;
  for (const std::int32_t t : {9, 100, 250}) turn2.push_back(t);

  Session reused(*model, pool, 64, CacheDType::kF32);
  reused.set_tokens(turn1);
  reused.append(7);  // a generated token the next prompt does not keep
  reused.set_tokens(turn2);
  EXPECT_EQ(reused.stats().prompt_tokens, 5 + 3);  // only the new tokens were prefilled

  Session fresh(*model, pool, 64, CacheDType::kF32);
  fresh.set_tokens(turn2);
  ASSERT_EQ(reused.logits().size(), fresh.logits().size());
  for (std::size_t i = 0; i < fresh.logits().size(); ++i)
    EXPECT_NEAR(reused.logits()[i], fresh.logits()[i], 1e-4f);
}

TEST(SessionTest, MatchesTheGoldenLogitsWhenDecodingStepByStep) {
  auto model = load_model(folder());
  ThreadPool pool(1);
  std::ifstream in(folder() + "/cases.json");
  const auto c = nlohmann::json::parse(in)[0];
  const std::vector<std::int32_t> ids = c["ids"];
  std::ifstream lf(folder() + "/" + c["logits"].get<std::string>(), std::ios::binary);
  std::vector<float> want(ids.size() * 600);
  lf.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * 4));
  Session s(*model, pool, 64, CacheDType::kF32);
  s.set_tokens(std::span(ids).first(1));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s.append(ids[i]);
    for (std::size_t v = 0; v < 600; ++v) ASSERT_NEAR(s.logits()[v], want[i * 600 + v], 3e-4f);
  }
}

TEST(SessionTest, PromptLongerThanTheContextIsAnError) {
  auto model = load_model(folder());
  ThreadPool pool(1);
  Session s(*model, pool, 4, CacheDType::kBF16);
  const std::vector<std::int32_t> ids = {1, 2, 3, 4, 5};
  EXPECT_THROW(s.set_tokens(ids), Error);
  s.set_tokens(std::span(ids).first(4));
  EXPECT_THROW(s.append(9), Error);
}

}  // namespace
}  // namespace whale
