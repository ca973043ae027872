// Rotary position embedding as DeepSeek applies it: adjacent pairs (x[2i], x[2i+1]) rotated by
// pos * inv_freq[i] (the reference's complex form, docs section 5.2), with YaRN frequencies
// (section 5.3) and the cos/sin magnitude ratio (section 5.4).
#pragma once

#include <cstdint>
#include <vector>

#include "io/deepseek_config.h"
#include "io/dense_config.h"

namespace whale {

// inv_freq[i] for i in [0, rope_dim/2), YaRN-blended when rope_scaling is set.
std::vector<double> yarn_inv_freq(std::int64_t rope_dim, double theta,
                                  const std::optional<YarnScaling>& scaling);

// inv_freq[i] = θ^(-2i/d) for i in [0, d/2), rescaled by Llama 3.1's rule when `scaling` is
// set (transformers' _compute_llama3_parameters): wavelengths 2π/f longer than
// original_max / low_freq_factor are divided by `factor`, those shorter than
// original_max / high_freq_factor kept, and the band between blended by
// s = (original_max / wavelength - low) / (high - low): (1 - s) f / factor + s f.
std::vector<double> llama3_inv_freq(std::int64_t head_dim, double theta,
                                    const std::optional<Llama3RopeScaling>& scaling);

// How a head's dimensions are paired for rotation.
enum class RopePairing {
  kHalf,      // (x[i], x[i + d/2]): Hugging Face's rotate_half (Qwen2, Llama checkpoints)
  kAdjacent,  // (x[2i], x[2i + 1]): GGML's normal mode (llama GGUFs, whose q/k rows are permuted)
};

// Rotates `count` vectors of dimension 2 * cos.size(), spaced `stride` floats apart, by the
// angles whose cosines and sines are given (one position's table).
void apply_rope(float* x, std::int64_t count, std::int64_t stride, const float* cos,
                const float* sin, std::int64_t half, RopePairing pairing);

class Rope {
 public:
  Rope(std::int64_t rope_dim, double theta, const std::optional<YarnScaling>& scaling,
       double magnitude);
  std::int64_t dim() const { return dim_; }
  // Position pos's table for apply_rope (pairs adjacent): the cosines and sines of its dim() / 2
  // angles, times the magnitude; angles in float64 like the reference.
  void table(std::int64_t pos, float* cos, float* sin) const;
  // Rotates x[0..dim) in place for position `pos`, with a table made for the call (the
  // models make one per token and share it across layers).
  void apply(float* x, std::int64_t pos) const;

 private:
  std::int64_t dim_;
  std::vector<double> inv_freq_;
  double magnitude_;
};

}  // namespace whale
