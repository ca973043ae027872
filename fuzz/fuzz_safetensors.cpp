// parse_safetensors on arbitrary bytes: it must either return a header whose every tensor lies
// inside the input, or throw whale::Error. Anything else (another exception, a crash, UB, a
// leak, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "io/safetensors.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    const whale::SafetensorsHeader header = whale::parse_safetensors(bytes, "fuzz.safetensors");
    for (const auto& [name, t] : header.tensors) {
      // Promised by the parser: the view is inside the input and sized as dtype * shape.
      if (!t.data.empty() && (t.data.data() < data || t.data.data() + t.data.size() > data + size))
        std::abort();
      if (t.data.size() != static_cast<std::size_t>(t.numel()) * whale::dtype_size(t.dtype))
        std::abort();
      (void)t.shape_string();
    }
  } catch (const whale::Error&) {
    // the one allowed outcome for bad input
  }
  return 0;
}
