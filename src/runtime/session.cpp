#include "runtime/session.h"

#include <algorithm>

#include "util/error.h"

namespace whale {

namespace {
// Longest prefill chunk: bounds activation memory for long prompts.
constexpr std::int64_t kPrefillChunk = 512;
}  // namespace

Session::Session(Model& model, ThreadPool& pool, std::int64_t context, CacheDType cache_dtype)
    : model_(model),
      pool_(pool),
      context_(std::min(context, model.summary().context_length)),
      cache_(model.create_cache(1, context_, cache_dtype)) {
  batch_.reserve(static_cast<std::size_t>(kPrefillChunk));
  tokens_.reserve(static_cast<std::size_t>(context_));  // appending never reallocates
}

void Session::clear() {
  tokens_.clear();
  logits_.clear();
  cache_->set_length(0, 0);
}

void Session::set_tokens(std::span<const std::int32_t> tokens) {
  if (tokens.empty()) fail("prompt: no tokens to run");
  if (static_cast<std::int64_t>(tokens.size()) > context_)
    fail("prompt: {} tokens exceed the context of {} tokens", tokens.size(), context_);
  std::size_t common = 0;
  while (common < tokens_.size() && common < tokens.size() && tokens_[common] == tokens[common])
    ++common;
  if (common == tokens.size()) --common;  // recompute the last token for its logits
  tokens_.assign(tokens.begin(), tokens.end());
  run(tokens.subspan(common), static_cast<std::int64_t>(common), true);
}

void Session::append(std::int32_t token) {
  if (static_cast<std::int64_t>(tokens_.size()) >= context_)
    fail("context full: {} tokens", context_);
  tokens_.push_back(token);
  run(std::span<const std::int32_t>(&tokens_.back(), 1), static_cast<std::int64_t>(tokens_.size()) - 1,
      false);
}

void Session::run(std::span<const std::int32_t> ids, std::int64_t first_pos, bool timing_as_prompt) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < ids.size();) {
    const std::size_t n = std::min<std::size_t>(kPrefillChunk, ids.size() - done);
    batch_.clear();
    for (std::size_t i = 0; i < n; ++i)
      batch_.push_back({ids[done + i], 0, first_pos + static_cast<std::int64_t>(done + i),
                        done + i + 1 == ids.size()});
    model_.forward(batch_, *cache_, pool_, {}, result_);
    done += n;
  }
  logits_.assign(result_.logits.begin(), result_.logits.end());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (timing_as_prompt) {
    stats_.prompt_tokens += static_cast<std::int64_t>(ids.size());
    stats_.prompt_seconds += seconds;
  } else {
    stats_.decoded_tokens += 1;
    stats_.decode_seconds += seconds;
  }
}

}  // namespace whale
