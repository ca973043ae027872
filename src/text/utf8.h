// UTF-8 validation and lossy repair, following Unicode's Table 3-7 (well-formed byte
// sequences) and "substitution of maximal subparts" (Unicode 3.9, as WHATWG's decoder and
// Rust's String::from_utf8_lossy do): each maximal invalid subpart becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace whale {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// One step of a UTF-8 scan at some offset.
struct Utf8Step {
  std::size_t length = 0;  // bytes consumed (>= 1 unless at the end)
  bool valid = false;      // a whole well-formed character; else a maximal invalid subpart
  bool truncated = false;  // invalid only because the input ends inside the character
};

// Scans the character (or maximal invalid subpart) starting at text[offset].
Utf8Step next_utf8(std::string_view text, std::size_t offset);

// Offset of the first byte that is not part of a well-formed character, if any.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// Appends `bytes` to `out`, each maximal invalid subpart replaced by U+FFFD.
void append_utf8_lossy(std::string& out, std::string_view bytes);

// `bytes` with each maximal invalid subpart replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Appends the UTF-8 encoding of a code point (<= U+10FFFF, not a surrogate).
void append_utf8(std::string& out, char32_t code_point);

// Decodes the well-formed character at text[offset]; `length` receives its byte count.
char32_t decode_utf8(std::string_view text, std::size_t offset, std::size_t* length);

}  // namespace whale
