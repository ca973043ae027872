// Added tokens (tokenizer.json "added_tokens"): strings matched in the input before
// pre-tokenization, leftmost-longest as Hugging Face's AddedVocabulary does with Aho-Corasick,
// with its single_word, lstrip and rstrip rules. Tokens with normalized=false are matched in
// the raw text, the others in the normalized text; each set gets its own matcher.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/regex.h"

namespace whale {

struct AddedToken {
  std::string content;
  std::int32_t id = -1;
  bool single_word = false;  // only where no word character touches either end
  bool lstrip = false;       // also takes the White_Space before it
  bool rstrip = false;       // also takes the White_Space after it
  bool normalized = true;    // matched in normalized text (else in the raw text)
  bool special = false;      // dropped by decode(skip_special)
};

// A piece of input text: an added token (token_id >= 0) or text to tokenize further.
struct TextSegment {
  std::string_view text;
  std::int32_t token_id = -1;
};

class AddedTokenMatcher {
 public:
  // Matches `pattern` (the token's content, normalized if it is matched in normalized text).
  void add(std::string_view pattern, const AddedToken& token);

  bool empty() const { return tokens_.empty(); }

  // Cuts `text` into segments, appended to `out`. Empty text gives no segment.
  void split(std::string_view text, RegexScratch& scratch, std::vector<TextSegment>& out) const;

 private:
  // The longest pattern that starts at text[at]: its index in tokens_ and length, or -1.
  int longest_match_at(std::string_view text, std::size_t at, std::size_t* length) const;

  struct Node {
    std::vector<std::pair<unsigned char, std::int32_t>> children;  // byte -> node index
    std::int32_t token = -1;                                       // index in tokens_
  };
  std::vector<Node> trie_{Node{}};
  bool starts_pattern_[256] = {};  // first bytes of the patterns
  std::vector<AddedToken> tokens_;
};

}  // namespace whale
