#include "text/added_tokens.h"

#include <algorithm>

#include "text/utf8.h"

namespace whale {
namespace {

// Hugging Face decides single_word with Rust's \w (UTS #18: Alphabetic, marks, decimal
// numbers, connector punctuation, Join_Control) and strips Rust's \s (White_Space).
const Regex& word_character() {
  static const Regex re("\\A[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]\\z",
                        Regex::Syntax::oniguruma, "added-token word test");
  return re;
}

const Regex& white_space() {
  static const Regex re("\\A\\s\\z", Regex::Syntax::oniguruma, "added-token space test");
  return re;
}

bool is_class(const Regex& re, std::string_view character, RegexScratch& scratch) {
  std::size_t b = 0, e = 0;
  return re.find(character, 0, scratch, &b, &e);
}

// Start of the character that ends text[..end].
std::size_t previous_character(std::string_view text, std::size_t end) {
  std::size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

std::size_t character_length(std::string_view text, std::size_t at) {
  return next_utf8(text, at).length;
}

}  // namespace

void AddedTokenMatcher::add(std::string_view pattern, const AddedToken& token) {
  if (pattern.empty()) return;
  std::int32_t node = 0;
  for (const char ch : pattern) {
    const auto byte = static_cast<unsigned char>(ch);
    auto& children = trie_[static_cast<std::size_t>(node)].children;
    auto it = std::find_if(children.begin(), children.end(),
                           [byte](const auto& c) { return c.first == byte; });
    if (it != children.end()) {
      node = it->second;
    } else {
      const auto child = static_cast<std::int32_t>(trie_.size());
      children.emplace_back(byte, child);
      trie_.emplace_back();  // invalidates `children`
      node = child;
    }
  }
  starts_pattern_[static_cast<unsigned char>(pattern[0])] = true;
  // A second token with the same pattern loses, as the first pattern wins in Aho-Corasick.
  if (trie_[static_cast<std::size_t>(node)].token < 0) {
    trie_[static_cast<std::size_t>(node)].token = static_cast<std::int32_t>(tokens_.size());
    tokens_.push_back(token);
  }
}

int AddedTokenMatcher::longest_match_at(std::string_view text, std::size_t at,
                                        std::size_t* length) const {
  int best = -1;
  std::size_t node = 0;
  for (std::size_t i = at; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto& children = trie_[node].children;
    auto it = std::find_if(children.begin(), children.end(),
                           [byte](const auto& c) { return c.first == byte; });
    if (it == children.end()) break;
    node = static_cast<std::size_t>(it->second);
    if (trie_[node].token >= 0) {
      best = trie_[node].token;
      *length = i + 1 - at;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, RegexScratch& scratch,
                              std::vector<TextSegment>& out) const {
  if (text.empty()) return;
  std::size_t done = 0;  // text before this is in `out`
  std::size_t at = 0;    // where the search for the next match starts
  while (at < text.size()) {
    if (!starts_pattern_[static_cast<unsigned char>(text[at])]) {
      ++at;
      continue;
    }
    std::size_t length = 0;
    const int index = longest_match_at(text, at, &length);
    if (index < 0) {
      ++at;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<std::size_t>(index)];
    std::size_t start = at, stop = at + length;
    at = stop;  // as Aho-Corasick's iterator, a rejected match is not searched again
    if (token.single_word) {
      const bool word_before =
          start > 0 && is_class(word_character(),
                                text.substr(previous_character(text, start),
                                            start - previous_character(text, start)),
                                scratch);
      const bool word_after =
          stop < text.size() &&
          is_class(word_character(), text.substr(stop, character_length(text, stop)), scratch);
      if (word_before || word_after) continue;
    }
    if (start < done) continue;  // inside text an rstrip already took
    if (token.lstrip) {
      while (start > done) {
        const std::size_t p = previous_character(text, start);
        if (!is_class(white_space(), text.substr(p, start - p), scratch)) break;
        start = p;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        const std::size_t n = character_length(text, stop);
        if (!is_class(white_space(), text.substr(stop, n), scratch)) break;
        stop += n;
      }
    }
    if (start > done) out.push_back({text.substr(done, start - done), -1});
    out.push_back({text.substr(start, stop - start), token.id});
    done = stop;
  }
  if (done < text.size()) out.push_back({text.substr(done), -1});
}

}  // namespace whale
