// parse_gguf on arbitrary bytes: it must either return a header whose every tensor lies inside
// the input, sized as its shape and type say, or throw whale::Error. Anything else (another
// exception, a crash, UB, a leak, a hang, a huge allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "io/gguf.h"
#include "util/error.h"

namespace {

// Walks a value as `whale inspect` does: type names and the first elements of arrays.
void touch(const whale::GgufValue& v) {
  (void)v.type_string();
  if (const whale::GgufArray* a = v.as_array())
    for (std::uint64_t i = 0; i < a->length && i < 4; ++i) touch(a->element(i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    const whale::GgufHeader h = whale::parse_gguf(bytes, "fuzz.gguf");
    if (h.alignment == 0 || (h.alignment & (h.alignment - 1)) != 0) std::abort();
    for (const auto& [key, value] : h.metadata.entries()) {
      touch(value);
      if (h.metadata.find(key) == nullptr) std::abort();
      // Typed access either answers or fails with whale::Error.
      try {
        (void)h.metadata.get_u32(key);
      } catch (const whale::Error&) {
      }
      try {
        (void)h.metadata.get_int_array(key);
      } catch (const whale::Error&) {
      }
    }
    for (const whale::GgufTensor& t : h.tensors) {
      // Promised by the parser: the view is inside the input, aligned and sized by its type.
      if (!t.data.empty() && (t.data.data() < data || t.data.data() + t.data.size() > data + size))
        std::abort();
      if (t.offset % h.alignment != 0) std::abort();
      if (t.ne[0] % whale::dtype_block_elements(t.dtype) != 0) std::abort();
      if (t.data.size() != static_cast<std::size_t>(whale::dtype_row_bytes(t.dtype, t.elements())))
        std::abort();
      (void)t.shape_string();
    }
  } catch (const whale::Error&) {
    // the one allowed outcome for bad input
  }
  return 0;
}
