#include "model/batch.h"

#include <vector>

#include "util/error.h"

namespace whale {

void validate_batch_and_extend_cache(std::span<const BatchToken> batch, KvCache& cache,
                                     std::int64_t vocab_size, std::vector<std::int64_t>& next) {
  const std::int64_t T = static_cast<std::int64_t>(batch.size());
  next.assign(static_cast<std::size_t>(cache.max_sequences()), -1);
  for (std::int64_t i = 0; i < T; ++i) {
    const BatchToken& t = batch[i];
    if (t.id < 0 || t.id >= vocab_size)
      fail("token id {} (batch index {}) is outside the vocabulary [0, {})", t.id, i, vocab_size);
    if (t.seq < 0 || t.seq >= cache.max_sequences())
      fail("sequence {} (batch index {}) is outside the cache's {} sequences", t.seq, i,
           cache.max_sequences());
    if (t.pos >= cache.capacity())
      fail("position {} (batch index {}) is beyond the context of {} tokens", t.pos, i,
           cache.capacity());
    std::int64_t& expect = next[t.seq];
    if (expect < 0) {
      if (t.pos < 0 || t.pos > cache.length(t.seq))
        fail("sequence {} starts at position {}, but its cache holds {} tokens", t.seq, t.pos,
             cache.length(t.seq));
    } else if (t.pos != expect) {
      fail(
          "sequence {}: position {} follows position {} (batch index {}); positions must be "
          "consecutive",
          t.seq, t.pos, expect - 1, i);
    }
    expect = t.pos + 1;
  }
  for (std::int32_t s = 0; s < cache.max_sequences(); ++s)
    if (next[s] >= 0) cache.set_length(s, next[s]);
}

}  // namespace whale
