// The interface every architecture implements. A forward pass takes a batch of tokens that
// may belong to several sequences, each token with its sequence and position, so batched
// serving needs no other entry point.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "util/mapped_file.h"

namespace whale {

class ThreadPool;

struct BatchToken {
  std::int32_t id = 0;       // token id, < vocab_size
  std::int32_t seq = 0;      // sequence slot in the cache
  std::int64_t pos = 0;      // position in its sequence
  bool want_logits = false;  // compute this token's next-token logits
};

struct ForwardOptions {
  bool record_routes = false;  // keep every MoE routing decision (tests, `whale logits`)
};

struct ForwardResult {
  std::int64_t vocab_size = 0;
  // [number of tokens with want_logits, vocab_size], in batch order.
  std::vector<float> logits;
  // With record_routes: routes[j] lists, for the j-th MoE layer (moe_layers[j]), each batch
  // token's top-k expert ids (token-major, k per token, in selection order).
  std::vector<std::int64_t> moe_layers;
  std::vector<std::vector<std::int32_t>> routes;
};

// What `whale inspect` and the loaders report about a model.
struct ModelSummary {
  std::string architecture;  // "deepseek_v3", ...
  std::string description;
  std::int64_t vocab_size = 0;
  std::int64_t context_length = 0;    // max_position_embeddings
  std::int64_t total_parameters = 0;  // main model, embedding and head once each
  std::int64_t active_parameters =
      0;  // per token: attention, dense, shared, top-k experts, router, embedding row, head
  std::int64_t mtp_parameters = 0;          // multi-token-prediction modules, kept but unused
  std::int64_t weight_bytes_per_token = 0;  // bytes of stored weights a decode step reads
  std::int64_t kv_values_per_token = 0;     // cached values per token over all layers
  std::int64_t experts_per_token = 0;       // 0 for dense models
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelSummary& summary() const = 0;
  // Maps every page of the weights now (TensorSource::prefault), for commands that compute:
  // otherwise a mixture-of-experts model faults on each expert's pages at its first use, for
  // hundreds of decode steps. Commands that only describe a model skip it. `before_reread` is
  // told the bytes before the weights are re-read into 2 MiB pages (prefault_files).
  virtual PrefaultStats prefault(const RereadNotice& /*before_reread*/ = {}) const { return {}; }
  virtual std::unique_ptr<KvCache> create_cache(std::int32_t max_sequences, std::int64_t capacity,
                                                CacheDType dtype) const = 0;
  // Runs the batch. Each sequence's tokens must have consecutive positions starting at or
  // below its cached length; the cache then holds exactly positions [0, last + 1).
  virtual void forward(std::span<const BatchToken> batch, KvCache& cache, ThreadPool& pool,
                       const ForwardOptions& options, ForwardResult& result) = 0;
};

}  // namespace whale
