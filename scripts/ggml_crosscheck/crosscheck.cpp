// See run.sh: whale's GGML (de)quantizers against llama.cpp's reference functions.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "formats/ggml_quants.h"
#include "formats/scalar_formats.h"
extern "C" {
void dequantize_row_q4_0(const void*, float*, int64_t);
void dequantize_row_q4_1(const void*, float*, int64_t);
void dequantize_row_q5_0(const void*, float*, int64_t);
void dequantize_row_q5_1(const void*, float*, int64_t);
void dequantize_row_q8_0(const void*, float*, int64_t);
void dequantize_row_q2_K(const void*, float*, int64_t);
void dequantize_row_q3_K(const void*, float*, int64_t);
void dequantize_row_q4_K(const void*, float*, int64_t);
void dequantize_row_q5_K(const void*, float*, int64_t);
void dequantize_row_q6_K(const void*, float*, int64_t);
void dequantize_row_q8_K(const void*, float*, int64_t);
void dequantize_row_iq4_nl(const void*, float*, int64_t);
void dequantize_row_iq4_xs(const void*, float*, int64_t);
void quantize_row_q4_K_ref(const float*, void*, int64_t);
void quantize_row_q6_K_ref(const float*, void*, int64_t);
void quantize_row_q8_0_ref(const float*, void*, int64_t);
void quantize_row_q4_0_ref(const float*, void*, int64_t);
}
using namespace whale;
typedef void (*Deq)(const void*, float*, int64_t);
int main() {
  int failures = 0;
  struct F {
    DType d;
    Deq f;
  } fs[] = {{DType::kQ4_0, dequantize_row_q4_0},    {DType::kQ4_1, dequantize_row_q4_1},
            {DType::kQ5_0, dequantize_row_q5_0},    {DType::kQ5_1, dequantize_row_q5_1},
            {DType::kQ8_0, dequantize_row_q8_0},    {DType::kQ2_K, dequantize_row_q2_K},
            {DType::kQ3_K, dequantize_row_q3_K},    {DType::kQ4_K, dequantize_row_q4_K},
            {DType::kQ5_K, dequantize_row_q5_K},    {DType::kQ6_K, dequantize_row_q6_K},
            {DType::kQ8_K, dequantize_row_q8_K},    {DType::kIQ4_NL, dequantize_row_iq4_nl},
            {DType::kIQ4_XS, dequantize_row_iq4_xs}};
  std::mt19937 rng(5);
  const int n = 256 * 8;
  for (auto& f : fs) {
    std::vector<uint8_t> b(dtype_row_bytes(f.d, n));
    for (auto& x : b) x = rng();
    // Random f16 scales too: NaN and infinity must decode alike.
    std::vector<float> a(n), c(n);
    dequantize_row(f.d, b.data(), a.data(), n);
    f.f(b.data(), c.data(), n);
    int bad = 0;
    for (int i = 0; i < n; ++i)
      if (!(a[i] == c[i] || (std::isnan(a[i]) && std::isnan(c[i])))) ++bad;
    failures += bad != 0;
    printf("%-7s dequant mismatches vs llama.cpp: %d\n", std::string(dtype_name(f.d)).c_str(), bad);
  }
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(256 * 256);
  for (auto& v : x) v = nd(rng);
  struct Q {
    DType d;
    void (*ref)(const float*, void*, int64_t);
    Deq deq;
  } qs[] = {{DType::kQ4_K, quantize_row_q4_K_ref, dequantize_row_q4_K},
            {DType::kQ6_K, quantize_row_q6_K_ref, dequantize_row_q6_K},
            {DType::kQ8_0, quantize_row_q8_0_ref, dequantize_row_q8_0},
            {DType::kQ4_0, quantize_row_q4_0_ref, dequantize_row_q4_0}};
  for (auto& q : qs) {
    std::vector<uint8_t> mine(dtype_row_bytes(q.d, x.size())), theirs(mine.size());
    quantize_row(q.d, x.data(), mine.data(), x.size());
    q.ref(x.data(), theirs.data(), x.size());
    std::vector<float> ym(x.size()), yl(x.size()), yw(x.size());
    q.deq(mine.data(), yl.data(), x.size());
    dequantize_row(q.d, mine.data(), yw.data(), x.size());
    std::vector<float> yt(x.size());
    q.deq(theirs.data(), yt.data(), x.size());
    double em = 0, et = 0, s = 0;
    int diff = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      em += (x[i] - yl[i]) * (x[i] - yl[i]);
      et += (x[i] - yt[i]) * (x[i] - yt[i]);
      s += x[i] * x[i];
      diff += yl[i] != yw[i];
    }
    failures += diff != 0;
    size_t same = 0;
    for (size_t i = 0; i < mine.size(); ++i) same += mine[i] == theirs[i];
    printf(
        "%-5s whale-encoded, llama-decoded rel RMSE %.5f (llama's own encoder %.5f); llama vs "
        "whale decode mismatches %d; identical bytes %.1f%%\n",
        std::string(dtype_name(q.d)).c_str(), sqrt(em / s), sqrt(et / s), diff,
        100.0 * same / mine.size());
  }
  return failures == 0 ? 0 : 1;
}
