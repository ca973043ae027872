#include "text/utf8.h"

#include <cstdint>

namespace whale {

Utf8Step next_utf8(std::string_view text, std::size_t offset) {
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data()) + offset;
  const std::size_t available = text.size() - offset;
  if (available == 0) return {0, false, false};
  const std::uint8_t lead = s[0];
  if (lead < 0x80) return {1, true, false};
  // Length of the sequence and the allowed range of its second byte (Table 3-7).
  std::size_t need = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {1, false, false};  // 80..C1, F5..FF never start a character
  }
  for (std::size_t i = 1; i < need; ++i) {
    if (i >= available) return {i, false, true};
    const std::uint8_t b = s[i];
    const bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {i, false, false};
  }
  return {need, true, false};
}

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // ASCII runs are the common case; skip them eight bytes at a time.
    while (i + 8 <= text.size()) {
      std::uint64_t word;
      __builtin_memcpy(&word, text.data() + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= text.size()) break;
    const Utf8Step step = next_utf8(text, i);
    if (!step.valid) return i;
    i += step.length;
  }
  return std::nullopt;
}

void append_utf8_lossy(std::string& out, std::string_view bytes) {
  std::size_t i = 0, run_start = 0;
  while (i < bytes.size()) {
    const Utf8Step step = next_utf8(bytes, i);
    if (!step.valid) {
      out.append(bytes.substr(run_start, i - run_start));
      out.append(kReplacementCharacter);
      run_start = i + step.length;
    }
    i += step.length;
  }
  out.append(bytes.substr(run_start));
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_utf8_lossy(out, bytes);
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

char32_t decode_utf8(std::string_view text, std::size_t offset, std::size_t* length) {
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data()) + offset;
  char32_t c = s[0];
  std::size_t n = 1;
  if (c >= 0xF0) {
    c = ((c & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    n = 4;
  } else if (c >= 0xE0) {
    c = ((c & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    n = 3;
  } else if (c >= 0xC0) {
    c = ((c & 0x1F) << 6) | (s[1] & 0x3Fu);
    n = 2;
  }
  if (length) *length = n;
  return c;
}

}  // namespace whale
