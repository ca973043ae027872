// Regular expressions from tokenizer.json files, compiled with PCRE2 (UTF + UCP, JIT).
//
// Hugging Face's tokenizers library runs these patterns with Oniguruma. The two dialects agree
// on everything these files use except \s: Oniguruma's \s is Unicode White_Space (it has
// U+0085, not U+180E), PCRE2's is its own "Perl space" list, so \s and \S are rewritten to
// \p{White_Space} and \P{White_Space}. Character classes (\p{L}, \p{N}, ...) come from the
// Unicode tables PCRE2 was built with (see Regex::unicode_version()), brought up to Unicode 16.0,
// which the reference tokenizers use: when PCRE2's tables are older, each character whose
// General_Category differs (almost all assigned since; src/text/unicode_stand_ins.inc) is
// matched as a stand-in character of its Unicode 16 category and UTF-8 length, so offsets are
// unchanged and the match is what Unicode 16 tables would give.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;
struct pcre2_real_jit_stack_8;

namespace whale {

// Per-thread match state (match data and a JIT stack). One may serve any number of Regex.
class RegexScratch {
 public:
  RegexScratch();
  ~RegexScratch();
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;

 private:
  friend class Regex;
  pcre2_real_match_data_8* data_ = nullptr;
  pcre2_real_match_context_8* context_ = nullptr;
  pcre2_real_jit_stack_8* jit_stack_ = nullptr;
  std::string stand_ins_;  // the subject with stand-in characters, when it needs them
};

class Regex {
 public:
  enum class Syntax { oniguruma, literal };

  // Throws whale::Error "<where>: invalid regex ... at offset N: <reason>" when the pattern
  // does not compile; `where` names the file and field it came from.
  Regex(std::string_view pattern, Syntax syntax, const std::string& where);
  ~Regex();
  Regex(Regex&& other) noexcept;
  Regex& operator=(Regex&& other) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The first match in `subject` that starts at or after `start` (a character boundary):
  // sets [*begin, *end) and returns true. `subject` must be valid UTF-8; look-around sees
  // only `subject`.
  bool find(std::string_view subject, std::size_t start, RegexScratch& scratch, std::size_t* begin,
            std::size_t* end) const {
    return find_prepared(prepare(subject, scratch), start, scratch, begin, end);
  }

  // Calls on_match(begin, end) for each match from left to right, as Oniguruma's search
  // loop does: after an empty match the search resumes one character further on.
  template <typename OnMatch>
  void for_each_match(std::string_view subject, RegexScratch& scratch, OnMatch&& on_match) const {
    const std::string_view prepared = prepare(subject, scratch);
    std::size_t start = 0, begin = 0, end = 0;
    while (start <= prepared.size() && find_prepared(prepared, start, scratch, &begin, &end)) {
      on_match(begin, end);
      start = end > begin ? end : next_character(prepared, end);
    }
  }

  const std::string& pattern() const { return pattern_; }

  // The Unicode version of PCRE2's character tables, e.g. "14.0.0".
  static std::string unicode_version();

  // Whether PCRE2's tables predate Unicode 16.0, so that stand-ins are used.
  static bool uses_stand_ins();

 private:
  // `subject`, or a copy in scratch with stand-ins for characters PCRE2 classes differently
  // from Unicode 16 (never for literal patterns, which compare bytes).
  std::string_view prepare(std::string_view subject, RegexScratch& scratch) const;
  bool find_prepared(std::string_view subject, std::size_t start, RegexScratch& scratch,
                     std::size_t* begin, std::size_t* end) const;

  static std::size_t next_character(std::string_view s, std::size_t offset);

  std::string pattern_;  // as written in the file
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
  bool literal_ = false;
};

}  // namespace whale
