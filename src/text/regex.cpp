#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "util/error.h"

namespace whale {
namespace {

// Oniguruma -> PCRE2: \s and \S become White_Space (see regex.h); everything else is kept.
std::string translate_oniguruma(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += '\\';
        out += next;
      }
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof buffer) < 0)
    return "error " + std::to_string(code);
  return reinterpret_cast<const char*>(buffer);
}

struct StandIn {
  char32_t first, last, stand_in;
};

constexpr StandIn kStandIns[] = {
#include "text/unicode_stand_ins.inc"
};
static_assert(kStandIns[0].first >= 0x800, "for_each_stand_in looks at 3- and 4-byte characters only");

// The code point of the 3- or 4-byte UTF-8 sequence at s[i] (valid UTF-8 is a precondition).
char32_t decode_long(std::string_view s, std::size_t i, int length) {
  const auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  if (length == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

void encode_long(char32_t cp, int length, char* out) {
  if (length == 3) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  }
}

const StandIn* stand_in_for(char32_t cp) {
  if (cp < kStandIns[0].first) return nullptr;
  const auto* it = std::upper_bound(std::begin(kStandIns), std::end(kStandIns), cp,
                                    [](char32_t c, const StandIn& s) { return c < s.first; });
  --it;  // the last range starting at or before cp
  return cp <= it->last ? it : nullptr;
}

// Calls on_stand_in(offset, length, stand_in) for each character of `s` that has one. Every
// table entry is 3 or 4 bytes long in UTF-8 (static_assert above), so shorter ones are skipped.
template <typename F>
void for_each_stand_in(std::string_view s, F&& on_stand_in) {
  for (std::size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0xE0) {
      ++i;
      continue;
    }
    const int length = lead < 0xF0 ? 3 : 4;
    if (i + static_cast<std::size_t>(length) > s.size()) break;
    if (const StandIn* entry = stand_in_for(decode_long(s, i, length)))
      on_stand_in(i, length, entry->stand_in);
    i += static_cast<std::size_t>(length);
  }
}

}  // namespace

RegexScratch::RegexScratch()
    : data_(pcre2_match_data_create(8, nullptr)),
      context_(pcre2_match_context_create(nullptr)),
      // JIT patterns keep backtracking state here; 1 MiB covers very long whitespace runs.
      jit_stack_(pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr)) {
  if (!data_ || !context_ || !jit_stack_) throw std::bad_alloc();
  pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
}

RegexScratch::~RegexScratch() {
  pcre2_jit_stack_free(jit_stack_);
  pcre2_match_context_free(context_);
  pcre2_match_data_free(data_);
}

Regex::Regex(std::string_view pattern, Syntax syntax, const std::string& where)
    : pattern_(pattern) {
  const std::string compiled =
      syntax == Syntax::oniguruma ? translate_oniguruma(pattern) : std::string(pattern);
  const std::uint32_t options =
      syntax == Syntax::literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  literal_ = syntax == Syntax::literal;
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(), options,
                        &error, &error_offset, nullptr);
  if (!code_) {
    // The offset is in the pattern PCRE2 saw; it equals the file's as long as no \s precedes it.
    fail("{}: invalid regex \"{}\" at offset {}: {}", where, pattern_, error_offset,
         pcre2_message(error));
  }
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() {
  pcre2_code_free(code_);
}

Regex::Regex(Regex&& other) noexcept
    : pattern_(std::move(other.pattern_)),
      code_(std::exchange(other.code_, nullptr)),
      jit_(other.jit_),
      literal_(other.literal_) {}

Regex& Regex::operator=(Regex&& other) noexcept {
  if (this != &other) {
    pcre2_code_free(code_);
    pattern_ = std::move(other.pattern_);
    code_ = std::exchange(other.code_, nullptr);
    jit_ = other.jit_;
    literal_ = other.literal_;
  }
  return *this;
}

std::string_view Regex::prepare(std::string_view subject, RegexScratch& scratch) const {
  if (literal_ || !uses_stand_ins()) return subject;
  bool copied = false;
  for_each_stand_in(subject, [&](std::size_t offset, int length, char32_t stand_in) {
    if (!copied) {
      scratch.stand_ins_.assign(subject);
      copied = true;
    }
    encode_long(stand_in, length, scratch.stand_ins_.data() + offset);
  });
  return copied ? std::string_view(scratch.stand_ins_) : subject;
}

bool Regex::find_prepared(std::string_view subject, std::size_t start, RegexScratch& scratch,
                          std::size_t* begin, std::size_t* end) const {
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  // Subjects were validated once, up front, so the per-call UTF check is skipped.
  const int rc =
      jit_ ? pcre2_jit_match(code_, s, subject.size(), start, 0, scratch.data_, scratch.context_)
           : pcre2_match(code_, s, subject.size(), start, PCRE2_NO_UTF_CHECK, scratch.data_,
                         scratch.context_);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) fail("regex \"{}\": matching failed: {}", pattern_, pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.data_);
  *begin = ovector[0];
  *end = ovector[1];
  return true;
}

std::size_t Regex::next_character(std::string_view s, std::size_t offset) {
  ++offset;
  while (offset < s.size() && (static_cast<unsigned char>(s[offset]) & 0xC0) == 0x80) ++offset;
  return offset;
}

bool Regex::uses_stand_ins() {
  static const bool older = std::stoi(unicode_version()) < 16;
  return older;
}

std::string Regex::unicode_version() {
  char buffer[32] = {};
  pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, buffer);
  return buffer;
}

}  // namespace whale
