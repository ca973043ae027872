// Run-time row (or token) counts to compile-time tile sizes: with_count<kMax>(n, f) calls
// f.template operator()<n>() for 1 <= n <= kMax, so a kernel templated on its tile size is
// instantiated once per size and picked without a hand-written switch. No standard library
// (the SIMD "-inl" files include it).
#pragma once

namespace whale {

template <int kMax, typename F>
inline void with_count(long n, F&& f) {
  if (n == kMax)
    f.template operator()<kMax>();
  else if constexpr (kMax > 1)
    with_count<kMax - 1>(n, f);
}

}  // namespace whale
