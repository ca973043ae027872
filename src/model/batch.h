// Checks shared by every Model::forward before it touches any state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"

namespace whale {

// Throws whale::Error naming the batch index when a token id is outside [0, vocab_size), a
// sequence outside the cache, a position beyond its capacity, or a sequence's positions are not
// consecutive from at most its cached length. Then sets each batch sequence's cache length to
// its last position + 1. `next_position` is scratch the caller keeps, so that a decode step
// allocates nothing.
void validate_batch_and_extend_cache(std::span<const BatchToken> batch, KvCache& cache,
                                     std::int64_t vocab_size,
                                     std::vector<std::int64_t>& next_position);

}  // namespace whale
