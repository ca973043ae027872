// Rotary position embedding as DeepSeek applies it: adjacent pairs (x[2i], x[2i+1]) rotated by
// pos * inv_freq[i] (the reference's complex form, docs section 5.2), with YaRN frequencies
// (section 5.3) and the cos/sin magnitude ratio (section 5.4).
#pragma once

#include <cstdint>
#include <vector>

#include "io/deepseek_config.h"

namespace whale {

// inv_freq[i] for i in [0, rope_dim/2), YaRN-blended when rope_scaling is set.
std::vector<double> yarn_inv_freq(std::int64_t rope_dim, double theta,
                                  const std::optional<YarnScaling>& scaling);

class Rope {
 public:
  Rope(std::int64_t rope_dim, double theta, const std::optional<YarnScaling>& scaling,
       double magnitude);
  std::int64_t dim() const { return dim_; }
  // Rotates x[0..dim) in place for position `pos`.
  void apply(float* x, std::int64_t pos) const;
  // The same for `count` vectors spaced `stride` floats apart (all heads of one token).
  void apply_strided(float* x, std::int64_t count, std::int64_t stride, std::int64_t pos) const;

 private:
  std::int64_t dim_;
  std::vector<double> inv_freq_;
  double magnitude_;
};

}  // namespace whale
