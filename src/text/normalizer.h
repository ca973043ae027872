// The tokenizer.json normalizers whale supports: Sequence, Replace, Prepend and Strip. An
// empty Sequence (DeepSeek's) changes nothing, so encode skips it without copying.
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

  bool empty() const { return steps_.empty(); }

  // The normalized form of `text`, written to `out` (replacing what it held).
  void apply(std::string_view text, RegexScratch& scratch, std::string& out) const;

 private:
  enum class Kind { replace, prepend, strip };
  struct Step {
    Kind kind;
    std::vector<Regex> regex;  // replace: the pattern; strip: leading and trailing space
    std::string content;       // replace: the replacement; prepend: the prefix
  };
  std::vector<Step> steps_;
};

}  // namespace whale
