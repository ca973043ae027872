// The tokenizer.json normalizers whale supports: Sequence, Replace, Prepend, Strip and the
// Unicode normalization forms NFC, NFD, NFKC, NFKD (Qwen2 uses NFC; computed by ICU). An empty
// Sequence (DeepSeek's) changes nothing, so encode skips it without copying.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/regex.h"

namespace whale {

class Normalizer {
 public:
  // Hugging Face "Replace": every match of `pattern` becomes `content`.
  void add_replace(Regex pattern, std::string content);
  // "Prepend": `prefix` goes in front of any non-empty text.
  void add_prepend(std::string prefix);
  // "Strip": White_Space removed from the left and/or the right end.
  void add_strip(bool left, bool right);
  // "NFC", "NFD", "NFKC", "NFKD": Unicode normalization (UAX #15) of the whole text.
  enum class UnicodeForm { nfc, nfd, nfkc, nfkd };
  void add_unicode(UnicodeForm form);

  bool empty() const { return steps_.empty(); }

  // The normalized form of `text`, written to `out` (replacing what it held).
  void apply(std::string_view text, RegexScratch& scratch, std::string& out) const;

 private:
  enum class Kind { replace, prepend, strip, unicode };
  struct Step {
    Kind kind;
    std::vector<Regex> regex;  // replace: the pattern; strip: leading and trailing space
    std::string content;       // replace: the replacement; prepend: the prefix
    UnicodeForm form = UnicodeForm::nfc;
  };
  std::vector<Step> steps_;
};

}  // namespace whale
