#include "model/kv_cache.h"

#include "kernels/matmul.h"
#include "util/error.h"

namespace whale {

const char* cache_dtype_name(CacheDType dtype) {
  return dtype == CacheDType::kF32 ? "f32" : "bf16";
}

LatentKvCache::LatentKvCache(std::int64_t layers, std::int64_t width, std::int32_t max_sequences,
                             std::int64_t capacity, CacheDType dtype)
    : layers_(layers),
      width_(width),
      capacity_(capacity),
      dtype_(dtype),
      lengths_(static_cast<std::size_t>(max_sequences), 0) {
  const std::size_t total = static_cast<std::size_t>(layers * width * capacity * max_sequences);
  storage_ = LargeBuffer(total * (dtype == CacheDType::kF32 ? 4 : 2));
}

void LatentKvCache::set_length(std::int32_t seq, std::int64_t length) {
  if (seq < 0 || seq >= max_sequences()) fail("kv cache: sequence {} out of range", seq);
  if (length < 0 || length > capacity_)
    fail("kv cache: length {} exceeds the context of {} tokens", length, capacity_);
  lengths_[seq] = length;
}

void LatentKvCache::write(std::int64_t layer, std::int32_t seq, std::int64_t pos,
                          const float* row) {
  const std::size_t o = offset(layer, seq, pos);
  if (dtype_ == CacheDType::kF32) {
    std::memcpy(storage_.as<float>() + o, row, static_cast<std::size_t>(width_) * 4);
  } else {
    std::uint16_t* out = storage_.as<std::uint16_t>() + o;
    for (std::int64_t i = 0; i < width_; ++i) out[i] = f32_to_bf16(row[i]);
  }
}

void LatentKvCache::read(std::int64_t layer, std::int32_t seq, std::int64_t pos, float* out) const {
  const std::size_t o = offset(layer, seq, pos);
  if (dtype_ == CacheDType::kF32) {
    std::memcpy(out, storage_.as<float>() + o, static_cast<std::size_t>(width_) * 4);
  } else {
    bf16_to_f32_n(storage_.as<std::uint16_t>() + o, out, width_);
  }
}

void LatentKvCache::read_range(std::int64_t layer, std::int32_t seq, std::int64_t pos,
                               std::int64_t begin, std::int64_t count, float* out) const {
  const std::size_t o = offset(layer, seq, pos) + static_cast<std::size_t>(begin);
  if (dtype_ == CacheDType::kF32) {
    std::memcpy(out, storage_.as<float>() + o, static_cast<std::size_t>(count) * 4);
  } else {
    bf16_to_f32_n(storage_.as<std::uint16_t>() + o, out, count);
  }
}

}  // namespace whale
