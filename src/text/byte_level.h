// GPT-2's byte-level alphabet (Radford et al. 2019, encoder.py bytes_to_unicode), as used by
// Hugging Face's ByteLevel pre-tokenizer and decoder: each byte maps to one printable code
// point, so a BPE vocabulary of strings can cover every byte sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace whale {

// The code point that stands for `byte`: printable Latin-1 bytes stand for themselves, the
// other 68 bytes map to U+0100.. in byte order.
char32_t byte_level_code_point(std::uint8_t byte);

// The byte a code point stands for, or -1 when it is not in the alphabet.
int byte_level_byte(char32_t code_point);

// Appends the byte-level spelling (UTF-8) of raw `bytes` to `out`.
void append_byte_level(std::string& out, std::string_view bytes);

// Maps a token's byte-level spelling back to raw bytes, appended to `out`. Returns false (and
// appends nothing) when some character is outside the alphabet, as for added tokens like
// "<｜User｜>": Hugging Face's decoder then uses the token's own UTF-8 bytes.
bool append_bytes_from_byte_level(std::string& out, std::string_view token);

}  // namespace whale
