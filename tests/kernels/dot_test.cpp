// Every dot-product ISA the host runs, held to the scalar twin and to a double-precision sum at
// awkward lengths and misaligned pointers.
#include "kernels/dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "formats/scalar_formats.h"
#include "kernels/ops.h"

namespace whale {
namespace {

constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512};
constexpr std::int64_t kLengths[] = {0,  1,  2,  3,  7,  8,  9,   15,  16,   17,
                                     31, 32, 33, 63, 64, 65, 127, 129, 1000, 1023};

// Float32 accumulation of n products errs by at most about n * 2^-24 * Σ|a_i b_i|; the bound
// below is that with room to spare for any summation order.
void expect_close(double got, double want, double magnitude, std::int64_t n,
                  const std::string& what) {
  const double bound = (static_cast<double>(n) + 4.0) * 6e-8 * magnitude + 1e-30;
  EXPECT_LE(std::abs(got - want), bound) << what;
}

TEST(Dot, EveryHostIsaMatchesScalarAndDoubleAtAwkwardLengthsAndOffsets) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> a(1100), b(1100);
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  int checked_isas = 0;
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    ++checked_isas;
    for (std::int64_t n : kLengths)
      for (int offset_a : {0, 1, 3})
        for (int offset_b : {0, 2, 5}) {
          const float* pa = a.data() + offset_a;  // misaligned for every vector width
          const float* pb = b.data() + offset_b;
          double want = 0.0, magnitude = 0.0;
          for (std::int64_t i = 0; i < n; ++i) {
            want += static_cast<double>(pa[i]) * pb[i];
            magnitude += std::abs(static_cast<double>(pa[i]) * pb[i]);
          }
          const std::string what = std::string(isa_name(isa)) + " n=" + std::to_string(n) +
                                   " offsets " + std::to_string(offset_a) + "," +
                                   std::to_string(offset_b);
          const float got = dot_f32_isa(isa, pa, pb, n);
          const float scalar = dot_f32_isa(Isa::kScalar, pa, pb, n);
          expect_close(got, want, magnitude, n, what);
          expect_close(got, scalar, 2 * magnitude, n, what + " vs scalar");
        }
  }
  EXPECT_GE(checked_isas, 1);
  std::printf("[dot] checked %d ISA(s); active: %s\n", checked_isas, isa_name(active_isa()));
}

TEST(Dot, EmptyVectorsGiveZeroOnEveryIsa) {
  const float x = 1.0f;
  for (Isa isa : kAllIsas)
    if (isa_supported(isa)) {
      EXPECT_EQ(dot_f32_isa(isa, &x, &x, 0), 0.0f) << isa_name(isa);
    }
}

TEST(Dot, ExactOnSmallIntegers) {
  // Integer products and sums below 2^24 are exact in float32 in any order.
  std::vector<float> a(1100), b(1100);  // longer than every length in kLengths
  for (int i = 0; i < 1100; ++i) {
    a[i] = static_cast<float>(i % 7 - 3);
    b[i] = static_cast<float>(i % 5 - 2);
  }
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    for (std::int64_t n : kLengths) {
      double w = 0;
      for (std::int64_t i = 0; i < n; ++i) w += a[i] * b[i];
      EXPECT_EQ(dot_f32_isa(isa, a.data(), b.data(), n), w) << isa_name(isa) << " n=" << n;
    }
  }
}

TEST(Dot, DispatchedEntryIsTheActiveIsa) {
  std::vector<float> a(77, 0.3f), b(77, -1.7f);
  for (int i = 0; i < 77; ++i) a[i] += 0.01f * i;
  EXPECT_EQ(dot_f32(a.data(), b.data(), 77), dot_f32_isa(active_isa(), a.data(), b.data(), 77));
  EXPECT_TRUE(isa_supported(active_isa()));
  EXPECT_TRUE(isa_supported(Isa::kScalar));
}

TEST(Axpy, AddsAScaledVector) {
  std::vector<float> x = {1, 2, 3, 4, 5}, y = {10, 20, 30, 40, 50};
  axpy_f32(0.5f, x.data() + 1, y.data() + 1, 3);
  EXPECT_EQ(y, (std::vector<float>{10, 21, 31.5f, 42, 50}));
}

// axpy_rows_f32 is k axpy_f32 calls per row of y, bit for bit, on every ISA: row counts around
// its groups of six, lengths around the vector widths, strides wider than the rows.
TEST(AxpyRows, EqualsRepeatedAxpyOnEveryIsa) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (const std::int64_t m : {1, 5, 6, 7, 13})
      for (const std::int64_t n : {1, 7, 16, 33, 512})
        for (const std::int64_t k : {1, 3, 64}) {
          const std::int64_t a_stride = k + 2, x_stride = n + 3, y_stride = n + 1;
          std::vector<float> a(static_cast<std::size_t>(m * a_stride)),
              x(static_cast<std::size_t>(k * x_stride)), y(static_cast<std::size_t>(m * y_stride));
          for (auto* v : {&a, &x, &y})
            for (float& f : *v) f = u(rng);
          std::vector<float> want = y;
          for (std::int64_t j = 0; j < m; ++j)
            for (std::int64_t b = 0; b < k; ++b)
              axpy_f32_isa(isa, a[j * a_stride + b], x.data() + b * x_stride,
                           want.data() + j * y_stride, n);
          axpy_rows_f32_isa(isa, a.data(), a_stride, m, x.data(), x_stride, k, y.data(), y_stride,
                            n);
          ASSERT_EQ(0, std::memcmp(want.data(), y.data(), y.size() * 4))
              << isa_name(isa) << " m " << m << " n " << n << " k " << k;
        }
  }
}

// dot_rows_f32: each score is the same bits whether computed alone (m = k = 1) or in any
// group of queries and rows, and within float32 rounding of a double sum, on every ISA.
TEST(DotRows, GroupingNeverChangesAScoreAndScoresAreExact) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (const std::int64_t m : {1, 2, 5, 6, 7, 12, 13})
      for (const std::int64_t n : {1, 7, 8, 16, 33, 576})
        for (const std::int64_t k : {1, 3, 4, 5, 64}) {
          const std::int64_t q_stride = n + 2, x_stride = n + 3, out_stride = k + 1;
          std::vector<float> q(static_cast<std::size_t>(m * q_stride)),
              x(static_cast<std::size_t>(k * x_stride)),
              out(static_cast<std::size_t>(m * out_stride), -7.0f);
          for (auto* v : {&q, &x})
            for (float& f : *v) f = u(rng);
          dot_rows_f32_isa(isa, q.data(), q_stride, m, x.data(), x_stride, k, out.data(),
                           out_stride, n);
          for (std::int64_t j = 0; j < m; ++j)
            for (std::int64_t b = 0; b < k; ++b) {
              float alone = 0.0f;
              dot_rows_f32_isa(isa, q.data() + j * q_stride, q_stride, 1, x.data() + b * x_stride,
                               x_stride, 1, &alone, 1, n);
              const float got = out[static_cast<std::size_t>(j * out_stride + b)];
              ASSERT_EQ(0, std::memcmp(&alone, &got, 4))
                  << isa_name(isa) << " m " << m << " n " << n << " k " << k << " j " << j << " b "
                  << b;
              double want = 0.0, magnitude = 0.0;
              for (std::int64_t i = 0; i < n; ++i) {
                const double p =
                    static_cast<double>(q[static_cast<std::size_t>(j * q_stride + i)]) *
                    x[static_cast<std::size_t>(b * x_stride + i)];
                want += p;
                magnitude += std::abs(p);
              }
              expect_close(got, want, magnitude, n, isa_name(isa));
            }
          for (std::int64_t j = 0; j < m; ++j)  // the padding between rows is left alone
            ASSERT_EQ(out[static_cast<std::size_t>(j * out_stride + k)], -7.0f);
        }
  }
}

// The BF16-row kernels (a BF16 attention cache): exactly the float32 kernels' results on the
// rows widened to float32, on every ISA, at awkward shapes, strides and tails.
TEST(RowsBf16, EqualTheFloatKernelsOnWidenedRows) {
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (const std::int64_t m : {1, 5, 6, 7, 12})
      for (const std::int64_t n : {1, 7, 8, 17, 33, 576})
        for (const std::int64_t k : {1, 3, 4, 5, 64}) {
          const std::int64_t q_stride = n + 2, x_stride = n + 3, out_stride = k + 1;
          std::vector<float> q(static_cast<std::size_t>(m * q_stride)),
              widened(static_cast<std::size_t>(k * x_stride));
          std::vector<std::uint16_t> x(widened.size());
          for (float& f : q) f = u(rng);
          for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] = f32_to_bf16(u(rng));
            widened[i] = bf16_to_f32(x[i]);
          }
          std::vector<float> want(static_cast<std::size_t>(m * out_stride), -7.0f), got = want;
          dot_rows_f32_isa(isa, q.data(), q_stride, m, widened.data(), x_stride, k, want.data(),
                           out_stride, n);
          dot_rows_bf16_isa(isa, q.data(), q_stride, m, x.data(), x_stride, k, got.data(),
                            out_stride, n);
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
              << "dot_rows " << isa_name(isa) << " m " << m << " n " << n << " k " << k;
          // axpy: the scores as weights, into outputs that start non-zero.
          const std::int64_t y_stride = n + 1;
          std::vector<float> y_want(static_cast<std::size_t>(m * y_stride));
          for (float& f : y_want) f = u(rng);
          std::vector<float> y_got = y_want;
          axpy_rows_f32_isa(isa, want.data(), out_stride, m, widened.data(), x_stride, k,
                            y_want.data(), y_stride, n);
          axpy_rows_bf16_isa(isa, want.data(), out_stride, m, x.data(), x_stride, k, y_got.data(),
                             y_stride, n);
          ASSERT_EQ(0, std::memcmp(y_want.data(), y_got.data(), y_want.size() * 4))
              << "axpy_rows " << isa_name(isa) << " m " << m << " n " << n << " k " << k;
        }
  }
}

// exp_shifted on every ISA: within 4 ulp-sized relative steps of the double exp over the
// range softmax uses, exactly 1 at the maximum, 0 for -inf, and the tail handled.
TEST(ExpShifted, CloseToDoubleExpOnEveryIsa) {
  std::vector<float> in;
  for (float x = -90.0f; x <= 0.0f; x += 0.0137f) in.push_back(x);
  in.push_back(0.0f);
  in.push_back(-std::numeric_limits<float>::infinity());
  for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (const std::int64_t n : {static_cast<std::int64_t>(in.size()), std::int64_t{5}}) {
      std::vector<float> v(in.begin(), in.begin() + n);
      const float shift = 0.75f;
      for (float& x : v) x += shift;
      exp_shifted_isa(isa, v.data(), n, shift);
      for (std::int64_t i = 0; i < n; ++i) {
        const double want = std::exp(static_cast<double>(in[static_cast<std::size_t>(i)]));
        const float got = v[static_cast<std::size_t>(i)];
        if (in[static_cast<std::size_t>(i)] < -87.3f) {
          EXPECT_LE(got, 1.3e-38f) << isa_name(isa) << " x " << in[static_cast<std::size_t>(i)];
          continue;
        }
        EXPECT_NEAR(got, want, 4.8e-7 * want)
            << isa_name(isa) << " x " << in[static_cast<std::size_t>(i)];
      }
    }
  }
}

// silu_mul on every ISA: within a few ulp-sized relative steps of g / (1 + e^-g) * u in
// float64 across the whole range (the SIMD paths' e^-|g| form must neither overflow for
// large |g| nor lose precision for negative g), and a tail shorter than a register handled.
TEST(SiluMul, CloseToDoubleOnEveryIsa) {
  std::vector<float> gate, up;
  for (float g = -120.0f; g <= 120.0f; g += 0.0173f) {
    gate.push_back(g);
    up.push_back(0.5f + 0.25f * std::sin(g));
  }
  for (const float g : {0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, -88.0f, 200.0f, -200.0f}) {
    gate.push_back(g);
    up.push_back(-1.5f);
  }
  for (const Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (const std::size_t n : {gate.size(), std::size_t{13}, std::size_t{3}}) {
      const std::size_t first = gate.size() - n;  // the tail cases hold the special values
      std::vector<float> got(gate.begin() + static_cast<std::ptrdiff_t>(first), gate.end());
      silu_mul_isa(isa, got.data(), up.data() + first, static_cast<std::int64_t>(n));
      for (std::size_t i = 0; i < n; ++i) {
        const double g = gate[first + i], u = up[first + i];
        const double want = g / (1.0 + std::exp(-g)) * u;
        // Below g = -87.3 the SIMD exponential is 0 (exp_shifted's floor): |want| < 2e-36 there.
        EXPECT_NEAR(got[i], want, 6e-7 * std::abs(want) + 2e-36)
            << isa_name(isa) << " g " << g << " u " << u;
      }
    }
  }
}

// softmax: probabilities within float rounding of the float64 softmax, summing to 1.
TEST(Softmax, CloseToDouble) {
  for (const std::int64_t n : {1, 7, 64, 1000}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      x[static_cast<std::size_t>(i)] = 9.0f * std::sin(0.37f * static_cast<float>(i));
    float max = -std::numeric_limits<float>::infinity();
    for (const float v : x) max = std::max(max, v);
    std::vector<double> want;  // e^(x - max), the difference rounded to float as softmax's is
    double sum = 0.0;
    for (const float v : x) sum += want.emplace_back(std::exp(static_cast<double>(v - max)));
    softmax(x.data(), n);
    double total = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double w = want[static_cast<std::size_t>(i)] / sum;
      EXPECT_NEAR(x[static_cast<std::size_t>(i)], w, 1e-6 * w + 1e-30) << "n " << n << " i " << i;
      total += x[static_cast<std::size_t>(i)];
    }
    EXPECT_NEAR(total, 1.0, 1e-5) << "n " << n;
  }
}

}  // namespace
}  // namespace whale
