// KV caches. Each architecture owns its cache shape; MLA caches only the compressed latent
// and the roped shared key (docs section 4.3): kv_lora_rank + qk_rope_head_dim values per
// token per layer, never per-head keys and values.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "formats/scalar_formats.h"
#include "util/huge_pages.h"

namespace whale {

enum class CacheDType { kF32, kBF16 };

const char* cache_dtype_name(CacheDType dtype);

// What every cache tells the scheduler: how many sequences, how long each may grow.
class KvCache {
 public:
  virtual ~KvCache() = default;
  virtual std::int32_t max_sequences() const = 0;
  virtual std::int64_t capacity() const = 0;  // positions per sequence
  virtual std::int64_t length(std::int32_t seq) const = 0;
  virtual void set_length(std::int32_t seq, std::int64_t length) = 0;
  virtual std::int64_t bytes_per_token() const = 0;
};

// Rows of `width` values per (layer, sequence, position), stored as F32 or BF16.
class LatentKvCache final : public KvCache {
 public:
  LatentKvCache(std::int64_t layers, std::int64_t width, std::int32_t max_sequences,
                std::int64_t capacity, CacheDType dtype);

  std::int32_t max_sequences() const override { return static_cast<std::int32_t>(lengths_.size()); }
  std::int64_t capacity() const override { return capacity_; }
  std::int64_t length(std::int32_t seq) const override { return lengths_.at(seq); }
  void set_length(std::int32_t seq, std::int64_t length) override;
  std::int64_t bytes_per_token() const override {
    return layers_ * width_ * (dtype_ == CacheDType::kF32 ? 4 : 2);
  }
  std::int64_t width() const { return width_; }
  CacheDType dtype() const { return dtype_; }

  void write(std::int64_t layer, std::int32_t seq, std::int64_t pos, const float* row);
  // Row pointer for F32 caches (nullptr for BF16); read() converts either kind.
  const float* row_f32(std::int64_t layer, std::int32_t seq, std::int64_t pos) const {
    return dtype_ == CacheDType::kF32 ? storage_.as<float>() + offset(layer, seq, pos) : nullptr;
  }
  // Row pointer for BF16 caches (nullptr for F32): a sequence's rows of a layer are consecutive.
  const std::uint16_t* row_bf16(std::int64_t layer, std::int32_t seq, std::int64_t pos) const {
    return dtype_ == CacheDType::kBF16 ? storage_.as<std::uint16_t>() + offset(layer, seq, pos)
                                       : nullptr;
  }
  void read(std::int64_t layer, std::int32_t seq, std::int64_t pos, float* out) const;
  // Values [begin, begin + count) of a row, converted to float32.
  void read_range(std::int64_t layer, std::int32_t seq, std::int64_t pos, std::int64_t begin,
                  std::int64_t count, float* out) const;

 private:
  std::size_t offset(std::int64_t layer, std::int32_t seq, std::int64_t pos) const {
    return static_cast<std::size_t>(
        ((static_cast<std::int64_t>(seq) * layers_ + layer) * capacity_ + pos) * width_);
  }
  std::int64_t layers_, width_, capacity_;
  CacheDType dtype_;
  std::vector<std::int64_t> lengths_;
  // F32 or BF16 rows, in 2 MiB pages where the kernel allows (a decode step at depth reads
  // every row of the sequence); pages are backed only as positions are written, a sequence's
  // layer at a time, so a short sequence holds up to 2 MiB per layer.
  LargeBuffer storage_;
};

}  // namespace whale
