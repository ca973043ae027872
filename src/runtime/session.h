// One conversation's state on a model: the tokens held in the KV cache and the logits after
// the last of them. A new prompt that shares a prefix with what is cached reuses it, so a chat
// turn only prefills the new text.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/model.h"

namespace whale {

class ThreadPool;

struct SessionStats {
  std::int64_t prompt_tokens = 0;   // prefilled (not reused from the cache)
  double prompt_seconds = 0;
  std::int64_t decoded_tokens = 0;
  double decode_seconds = 0;
};

class Session {
 public:
  // `context`: the most tokens the cache holds (at most the model's context length).
  Session(Model& model, ThreadPool& pool, std::int64_t context, CacheDType cache_dtype);

  // Makes the cache hold exactly `tokens` (reusing the cached common prefix; at least the last
  // token is always recomputed) and computes the logits after the last one. Throws
  // whale::Error when `tokens` is empty or longer than the context.
  void set_tokens(std::span<const std::int32_t> tokens);
  // Feeds one more token and computes the logits after it.
  void append(std::int32_t token);

  std::span<const float> logits() const { return logits_; }
  const std::vector<std::int32_t>& tokens() const { return tokens_; }
  std::int64_t context() const { return context_; }
  std::int64_t vocab_size() const { return model_.summary().vocab_size; }
  const SessionStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  void clear();

 private:
  void run(std::span<const std::int32_t> ids, std::int64_t first_pos, bool timing_as_prompt);

  Model& model_;
  ThreadPool& pool_;
  std::int64_t context_;
  std::unique_ptr<KvCache> cache_;
  std::vector<std::int32_t> tokens_;
  std::vector<float> logits_;
  std::vector<BatchToken> batch_;
  ForwardResult result_;
  SessionStats stats_;
};

}  // namespace whale
