#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

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
      jit_(other.jit_) {}

Regex& Regex::operator=(Regex&& other) noexcept {
  if (this != &other) {
    pcre2_code_free(code_);
    pattern_ = std::move(other.pattern_);
    code_ = std::exchange(other.code_, nullptr);
    jit_ = other.jit_;
  }
  return *this;
}

bool Regex::find(std::string_view subject, std::size_t start, RegexScratch& scratch,
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

std::string Regex::unicode_version() {
  char buffer[32] = {};
  pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, buffer);
  return buffer;
}

}  // namespace whale
