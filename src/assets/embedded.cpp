#include "assets/embedded.h"

// The bytes come from assets/tokenizers/deepseek-v3/ via the assembler's .incbin (paths set by
// CMake), so the 7.8 MB JSON never passes through the C++ compiler.
#define WHALE_INCBIN(symbol, path)                                   \
  __asm__(".section .rodata\n"                                      \
          ".balign 16\n"                                            \
          ".global " #symbol "_begin\n" #symbol "_begin:\n"         \
          ".incbin \"" path "\"\n"                                  \
          ".global " #symbol "_end\n" #symbol "_end:\n"             \
          ".byte 0\n"                                               \
          ".previous\n");                                           \
  extern "C" const char symbol##_begin[];                           \
  extern "C" const char symbol##_end[];

WHALE_INCBIN(whale_v3_tokenizer_json, WHALE_V3_TOKENIZER_JSON)
WHALE_INCBIN(whale_v3_tokenizer_config_json, WHALE_V3_TOKENIZER_CONFIG_JSON)

namespace whale::assets {

std::string_view deepseek_v3_tokenizer_json() {
  return {whale_v3_tokenizer_json_begin,
          static_cast<std::size_t>(whale_v3_tokenizer_json_end - whale_v3_tokenizer_json_begin)};
}

std::string_view deepseek_v3_tokenizer_config_json() {
  return {whale_v3_tokenizer_config_json_begin,
          static_cast<std::size_t>(whale_v3_tokenizer_config_json_end -
                                   whale_v3_tokenizer_config_json_begin)};
}

}  // namespace whale::assets
