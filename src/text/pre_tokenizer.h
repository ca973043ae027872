// Pre-tokenization: cutting normalized text into the words BPE works on, as tokenizer.json's
// "pre_tokenizer" describes. Supported: Sequence, Split (regex or string pattern, all five
// behaviours, invert) and ByteLevel (add_prefix_space, use_regex) as the last step.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "text/regex.h"

namespace whale {

// Hugging Face's SplitDelimiterBehavior: what happens to each match of a Split pattern.
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// Buffers reused across calls on one thread.
struct PreTokenizerScratch {
  RegexScratch regex;
  std::vector<std::string_view> current, next;
  struct Part {
    std::size_t begin, end;
    bool is_match;
  };
  std::vector<Part> parts;
  std::deque<std::string> owned;  // text made here (prefix spaces); cleared per call to split
};

class PreTokenizer {
 public:
  void add_split(Regex pattern, SplitBehavior behavior, bool invert);
  // ByteLevel: words are mapped to GPT-2's byte alphabet before BPE (the model then sees raw
  // bytes, see BpeModel). Must be the last step.
  void set_byte_level(bool add_prefix_space, bool use_regex);

  bool byte_level() const { return byte_level_; }

  // Appends the words of `text` to `words`: views into `text` or into scratch.owned, which
  // stay valid until the next call with the same scratch.
  void split(std::string_view text, PreTokenizerScratch& scratch,
             std::vector<std::string_view>& words) const;

 private:
  struct SplitStep {
    Regex pattern;
    SplitBehavior behavior;
    bool invert;
  };
  static void split_one(const SplitStep& step, std::string_view piece, PreTokenizerScratch& scratch,
                        std::vector<std::string_view>& out);

  std::vector<SplitStep> steps_;
  bool byte_level_ = false;
  bool add_prefix_space_ = false;
  std::vector<SplitStep> byte_level_regex_;  // GPT-2's pattern when use_regex
};

}  // namespace whale
