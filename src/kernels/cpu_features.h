// Which SIMD paths this CPU and OS can run, from CPUID and XGETBV (the OS must save the
// wider registers for a path to be usable).
#pragma once

#include <string>

namespace whale {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  bool avx2 = false;         // AVX2 + FMA + F16C, OS saves YMM
  bool avx512 = false;       // AVX-512 F/BW/VL/DQ, OS saves ZMM and opmasks
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  std::string brand;
};

const CpuFeatures& cpu_features();

// The best ISA the host supports, lowered by the WHALE_ISA environment variable
// (scalar | avx2 | avx512) when set.
Isa active_isa();
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);

}  // namespace whale
