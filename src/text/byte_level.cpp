#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace whale {
namespace {

bool stands_for_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> to_code_point{};
  std::array<std::int16_t, 324> to_byte{};  // code points 0..323 cover the whole alphabet
  std::array<std::string, 256> spelling;    // UTF-8 of to_code_point
  Tables() {
    to_byte.fill(-1);
    unsigned next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      to_code_point[b] = stands_for_itself(b) ? b : next++;
      to_byte[to_code_point[b]] = static_cast<std::int16_t>(b);
      append_utf8(spelling[b], to_code_point[b]);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_level_code_point(std::uint8_t byte) {
  return tables().to_code_point[byte];
}

int byte_level_byte(char32_t code_point) {
  return code_point < tables().to_byte.size() ? tables().to_byte[code_point] : -1;
}

void append_byte_level(std::string& out, std::string_view bytes) {
  const Tables& t = tables();
  for (const char c : bytes) out.append(t.spelling[static_cast<std::uint8_t>(c)]);
}

bool append_bytes_from_byte_level(std::string& out, std::string_view token) {
  const std::size_t old_size = out.size();
  std::size_t i = 0;
  while (i < token.size()) {
    const Utf8Step step = next_utf8(token, i);
    int byte = -1;
    if (step.valid) byte = byte_level_byte(decode_utf8(token, i, nullptr));
    if (byte < 0) {
      out.resize(old_size);
      return false;
    }
    out.push_back(static_cast<char>(byte));
    i += step.length;
  }
  return true;
}

}  // namespace whale
