// YaRN frequencies and softmax scale (docs sections 4.2, 5.3, 5.4, 14) and the interleaved
// rotation against Hugging Face's permute + rotate_half form (section 5.2).
#include "model/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace whale {
namespace {

YarnScaling released_yarn(double mscale, double mscale_all_dim) {
  YarnScaling s;
  s.factor = 40;
  s.original_max_position_embeddings = 4096;
  s.beta_fast = 32;
  s.beta_slow = 1;
  s.mscale = mscale;
  s.mscale_all_dim = mscale_all_dim;
  return s;
}

double base_freq(int i, int dim) {
  return std::pow(10000.0, -2.0 * i / dim);
}

TEST(Yarn, CorrectionRangeOfTheReleasedConfigsIsPairs10To23) {
  // corr_dim(r) = d * ln(orig / (2 pi r)) / (2 ln theta): 10.47 for beta_fast 32, 22.51 for 1.
  const auto corr_dim = [](double r) {
    return 64 * std::log(4096 / (2 * std::numbers::pi * r)) / (2 * std::log(10000.0));
  };
  EXPECT_NEAR(corr_dim(32), 10.472, 1e-3);
  EXPECT_NEAR(corr_dim(1), 22.513, 1e-3);
  EXPECT_EQ(std::floor(corr_dim(32)), 10);  // low
  EXPECT_EQ(std::ceil(corr_dim(1)), 23);    // high

  const auto inv = yarn_inv_freq(64, 10000, released_yarn(1.0, 1.0));
  ASSERT_EQ(inv.size(), 32u);
  for (int i = 0; i <= 10; ++i)  // ramp 0: extrapolation, frequency unchanged
    EXPECT_DOUBLE_EQ(inv[i], base_freq(i, 64)) << i;
  for (int i = 11; i <= 22; ++i) {  // linear blend with ramp (i - 10) / 13
    const double ramp = (i - 10) / 13.0;
    EXPECT_NEAR(inv[i], base_freq(i, 64) * (1 - ramp) + base_freq(i, 64) / 40 * ramp,
                1e-15 * base_freq(i, 64))
        << i;
    EXPECT_LT(inv[i], base_freq(i, 64));
    EXPECT_GT(inv[i], base_freq(i, 64) / 40);
  }
  for (int i = 23; i < 32; ++i)  // ramp 1: interpolation, divided by the factor
    EXPECT_DOUBLE_EQ(inv[i], base_freq(i, 64) / 40) << i;
  EXPECT_DOUBLE_EQ(inv[0], 1.0);
  EXPECT_DOUBLE_EQ(inv[31], base_freq(31, 64) / 40);
}

TEST(Yarn, GoldenRopeDim16UsesPairs2To6) {
  // golden README: d = 16 gives low 2, high 6.
  const auto inv = yarn_inv_freq(16, 10000, released_yarn(1.0, 1.0));
  ASSERT_EQ(inv.size(), 8u);
  for (int i = 0; i <= 2; ++i) EXPECT_DOUBLE_EQ(inv[i], base_freq(i, 16)) << i;
  for (int i = 3; i <= 5; ++i) {
    const double ramp = (i - 2) / 4.0;
    EXPECT_NEAR(inv[i], base_freq(i, 16) * (1 - ramp + ramp / 40), 1e-15) << i;
  }
  for (int i = 6; i < 8; ++i) EXPECT_DOUBLE_EQ(inv[i], base_freq(i, 16) / 40) << i;
}

TEST(Yarn, WithoutScalingFrequenciesArePlain) {
  const auto inv = yarn_inv_freq(64, 10000, std::nullopt);
  for (int i = 0; i < 32; ++i) EXPECT_DOUBLE_EQ(inv[i], base_freq(i, 64));
}

DeepSeekConfig config_with(std::optional<YarnScaling> yarn) {
  DeepSeekConfig c;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.rope_scaling = yarn;
  return c;
}

TEST(Yarn, SoftmaxScaleCarriesMscaleSquared) {
  const double base = 1.0 / std::sqrt(192.0);
  const DeepSeekConfig v3 = config_with(released_yarn(1.0, 1.0));
  const DeepSeekConfig v2 = config_with(released_yarn(0.707, 0.707));
  EXPECT_NEAR(v3.softmax_scale() / base, 1.8738542, 1e-7);  // m^2, m = 1.368888
  EXPECT_NEAR(v2.softmax_scale() / base, 1.5896262, 1e-7);  // m = 1.260804
  EXPECT_NEAR(v3.softmax_scale(), 0.1352338, 1e-7);
  EXPECT_NEAR(v2.softmax_scale(), 0.1147214, 1e-7);
  EXPECT_NEAR(config_with(std::nullopt).softmax_scale(), 0.0721688, 1e-7);
  EXPECT_DOUBLE_EQ(yarn_get_mscale(40, 1.0), 0.1 * std::log(40.0) + 1);
  EXPECT_DOUBLE_EQ(yarn_get_mscale(1.0, 1.0), 1.0);  // no scaling at factor <= 1
  // Released configs have mscale == mscale_all_dim: cos/sin keep magnitude 1.
  EXPECT_DOUBLE_EQ(v3.rope_magnitude(), 1.0);
  EXPECT_DOUBLE_EQ(v2.rope_magnitude(), 1.0);
  // mscale_all_dim 0 (the HF default): no softmax correction at all.
  EXPECT_DOUBLE_EQ(config_with(released_yarn(1.0, 0.0)).softmax_scale(), base);
}

// --- rotation ------------------------------------------------------------------------------

// The HF form: x' = [x0, x2, ..., x1, x3, ...]; y' = x' cos + rotate_half(x') sin with
// cos = cat(cos θ, cos θ), rotate_half(x') = [-x'[d/2:], x'[:d/2]].
std::vector<double> hf_rotate(const std::vector<float>& x, const std::vector<double>& inv,
                              std::int64_t pos) {
  const std::size_t d = x.size(), half = d / 2;
  std::vector<double> xp(d), y(d);
  for (std::size_t i = 0; i < half; ++i) {
    xp[i] = x[2 * i];
    xp[half + i] = x[2 * i + 1];
  }
  for (std::size_t j = 0; j < d; ++j) {
    const double angle = static_cast<double>(pos) * inv[j % half];
    const double rotated = j < half ? -xp[j + half] : xp[j - half];
    y[j] = xp[j] * std::cos(angle) + rotated * std::sin(angle);
  }
  return y;
}

TEST(Rope, InterleavedRotationEqualsHfPermuteRotateHalfUpToThePermutation) {
  const std::int64_t d = 64;
  const auto scaling = released_yarn(1.0, 1.0);
  const Rope rope(d, 10000, scaling, 1.0);
  const auto inv = yarn_inv_freq(d, 10000, scaling);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (std::int64_t q_pos : {0, 1, 7, 4095, 100000}) {
    const std::int64_t k_pos = q_pos / 3;
    std::vector<float> q(d), k(d);
    for (auto& v : q) v = dist(rng);
    for (auto& v : k) v = dist(rng);
    const auto q_hf = hf_rotate(q, inv, q_pos), k_hf = hf_rotate(k, inv, k_pos);
    std::vector<float> q_rot = q, k_rot = k;
    rope.apply(q_rot.data(), q_pos);
    rope.apply(k_rot.data(), k_pos);
    // Same values, HF in de-interleaved order: y'[i] = y[2i], y'[d/2 + i] = y[2i + 1].
    for (std::int64_t i = 0; i < d / 2; ++i) {
      EXPECT_NEAR(q_rot[2 * i], q_hf[i], 1e-5) << q_pos << " pair " << i;
      EXPECT_NEAR(q_rot[2 * i + 1], q_hf[d / 2 + i], 1e-5) << q_pos << " pair " << i;
    }
    // And therefore the same attention score.
    double dot_whale = 0, dot_hf = 0, magnitude = 0;
    for (std::int64_t i = 0; i < d; ++i) {
      dot_whale += static_cast<double>(q_rot[i]) * k_rot[i];
      dot_hf += q_hf[i] * k_hf[i];
      magnitude += std::abs(q_hf[i] * k_hf[i]);
    }
    EXPECT_NEAR(dot_whale, dot_hf, 1e-5 * magnitude) << q_pos;
  }
}

TEST(Rope, RotatingTwoHalvesInsteadOfPairsIsDifferent) {
  // The NeoX half-split applied to unpermuted data is the known mistake (golden README): check
  // that the test above would catch it, i.e. that the two conventions differ.
  const Rope rope(16, 10000, std::nullopt, 1.0);
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i + 1);
  std::vector<float> pairs = x;
  rope.apply(pairs.data(), 3);
  const auto inv = yarn_inv_freq(16, 10000, std::nullopt);
  double differ = 0;
  for (int i = 0; i < 8; ++i) {
    const double a = 3 * inv[i];
    const double half_split = x[i] * std::cos(a) - x[i + 8] * std::sin(a);
    differ = std::max(differ, std::abs(pairs[i] - half_split));
  }
  EXPECT_GT(differ, 0.1);
}

TEST(Rope, ScoreDependsOnlyOnTheRelativePosition) {
  const Rope rope(16, 10000, released_yarn(1.0, 1.0), 1.0);
  std::vector<float> q(16), k(16);
  for (int i = 0; i < 16; ++i) {
    q[i] = std::sin(1.0f + i);
    k[i] = std::cos(2.0f * i);
  }
  const auto score = [&](std::int64_t qp, std::int64_t kp) {
    std::vector<float> a = q, b = k;
    rope.apply(a.data(), qp);
    rope.apply(b.data(), kp);
    double s = 0;
    for (int i = 0; i < 16; ++i) s += static_cast<double>(a[i]) * b[i];
    return s;
  };
  EXPECT_NEAR(score(5, 2), score(105, 102), 1e-5);
  EXPECT_NEAR(score(9, 9), score(0, 0), 1e-5);
}

TEST(Rope, PositionZeroIsTheIdentityAndNormsArePreserved) {
  const Rope rope(64, 10000, released_yarn(1.0, 1.0), 1.0);
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = 0.1f * static_cast<float>(i) - 3.0f;
  std::vector<float> y = x;
  rope.apply(y.data(), 0);
  EXPECT_EQ(y, x);
  rope.apply(y.data(), 12345);
  double nx = 0, ny = 0;
  for (int i = 0; i < 64; ++i) {
    nx += static_cast<double>(x[i]) * x[i];
    ny += static_cast<double>(y[i]) * y[i];
  }
  EXPECT_NEAR(nx, ny, 1e-5 * nx);
}

TEST(Rope, MagnitudeScalesTheRotatedVector) {
  const Rope plain(16, 10000, std::nullopt, 1.0), scaled(16, 10000, std::nullopt, 1.5);
  std::vector<float> a(16, 1.0f), b(16, 1.0f);
  plain.apply(a.data(), 7);
  scaled.apply(b.data(), 7);
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(b[i], 1.5f * a[i], 1e-6);
}

// The model's form: one table per position, applied to every head with a stride.
TEST(Rope, StridedTableApplyEqualsOneCallPerHead) {
  const Rope rope(16, 10000, released_yarn(1.0, 1.0), 1.0);
  const std::int64_t heads = 4, stride = 48;  // per head: 32 nope dims, then 16 rope dims
  std::vector<float> all(heads * stride);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<float> one_by_one = all;
  std::vector<float> cos(8), sin(8);
  rope.table(77, cos.data(), sin.data());
  apply_rope(all.data() + 32, heads, stride, cos.data(), sin.data(), 8, RopePairing::kAdjacent);
  for (std::int64_t h = 0; h < heads; ++h) rope.apply(one_by_one.data() + h * stride + 32, 77);
  EXPECT_EQ(all, one_by_one);
}

}  // namespace
}  // namespace whale
