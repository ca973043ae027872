#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace whale {

std::vector<double> yarn_inv_freq(std::int64_t rope_dim, double theta,
                                  const std::optional<YarnScaling>& scaling) {
  const std::int64_t half = rope_dim / 2;
  std::vector<double> inv(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i)
    inv[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(rope_dim));
  if (!scaling) return inv;
  // corr_dim(r) = d * ln(orig / (2π r)) / (2 ln θ): the pair index whose wavelength fits r turns
  // into the original context (YaRN paper, section 3.2; HF yarn_find_correction_dim).
  const auto corr_dim = [&](double rotations) {
    return static_cast<double>(rope_dim) *
           std::log(static_cast<double>(scaling->original_max_position_embeddings) /
                    (rotations * 2.0 * std::numbers::pi)) /
           (2.0 * std::log(theta));
  };
  const double low = std::max(std::floor(corr_dim(scaling->beta_fast)), 0.0);
  double high =
      std::min(std::ceil(corr_dim(scaling->beta_slow)), static_cast<double>(rope_dim - 1));
  if (low == high) high += 0.001;
  for (std::int64_t i = 0; i < half; ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    inv[i] = inv[i] * (1.0 - ramp) + inv[i] / scaling->factor * ramp;
  }
  return inv;
}

std::vector<double> llama3_inv_freq(std::int64_t head_dim, double theta,
                                    const std::optional<Llama3RopeScaling>& scaling) {
  std::vector<double> inv = yarn_inv_freq(head_dim, theta, std::nullopt);
  if (!scaling) return inv;
  const double old_context = static_cast<double>(scaling->original_max_position_embeddings);
  const double low_freq_wavelen = old_context / scaling->low_freq_factor;
  const double high_freq_wavelen = old_context / scaling->high_freq_factor;
  for (double& f : inv) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen > low_freq_wavelen) {
      f /= scaling->factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double s = (old_context / wavelen - scaling->low_freq_factor) /
                       (scaling->high_freq_factor - scaling->low_freq_factor);
      f = (1.0 - s) * f / scaling->factor + s * f;
    }
  }
  return inv;
}

void apply_rope(float* x, std::int64_t count, std::int64_t stride, const float* cos,
                const float* sin, std::int64_t half, RopePairing pairing) {
  const std::int64_t step = pairing == RopePairing::kHalf ? 1 : 2;
  const std::int64_t other = pairing == RopePairing::kHalf ? half : 1;
  for (std::int64_t k = 0; k < count; ++k) {
    float* v = x + k * stride;
    for (std::int64_t i = 0; i < half; ++i) {
      float* a = v + i * step;
      const float x0 = a[0], x1 = a[other];
      a[0] = x0 * cos[i] - x1 * sin[i];
      a[other] = x1 * cos[i] + x0 * sin[i];
    }
  }
}

Rope::Rope(std::int64_t rope_dim, double theta, const std::optional<YarnScaling>& scaling,
           double magnitude)
    : dim_(rope_dim), inv_freq_(yarn_inv_freq(rope_dim, theta, scaling)), magnitude_(magnitude) {}

void Rope::table(std::int64_t pos, float* cos, float* sin) const {
  for (std::int64_t i = 0; i < dim_ / 2; ++i) {
    const double angle = static_cast<double>(pos) * inv_freq_[static_cast<std::size_t>(i)];
    cos[i] = static_cast<float>(std::cos(angle) * magnitude_);
    sin[i] = static_cast<float>(std::sin(angle) * magnitude_);
  }
}

void Rope::apply(float* x, std::int64_t pos) const {
  std::vector<float> cos(static_cast<std::size_t>(dim_ / 2)), sin(cos.size());
  table(pos, cos.data(), sin.data());
  apply_rope(x, 1, 0, cos.data(), sin.data(), dim_ / 2, RopePairing::kAdjacent);
}

}  // namespace whale
