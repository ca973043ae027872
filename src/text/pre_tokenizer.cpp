#include "text/pre_tokenizer.h"

#include <algorithm>

namespace whale {
namespace {

// GPT-2's pre-tokenizer pattern, the one Hugging Face's ByteLevel applies when use_regex.
constexpr std::string_view kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

void PreTokenizer::add_split(Regex pattern, SplitBehavior behavior, bool invert) {
  steps_.push_back(SplitStep{std::move(pattern), behavior, invert});
}

void PreTokenizer::set_byte_level(bool add_prefix_space, bool use_regex) {
  byte_level_ = true;
  add_prefix_space_ = add_prefix_space;
  byte_level_regex_.clear();
  if (use_regex)
    byte_level_regex_.push_back(
        SplitStep{Regex(kByteLevelPattern, Regex::Syntax::oniguruma, "ByteLevel pre-tokenizer"),
                  SplitBehavior::isolated, false});
}

void PreTokenizer::split_one(const SplitStep& step, std::string_view piece,
                             PreTokenizerScratch& scratch, std::vector<std::string_view>& out) {
  if (step.behavior == SplitBehavior::isolated) {
    // The common case: every match and every gap between matches is a word of its own, and
    // so inverting changes nothing.
    std::size_t done = 0;
    step.pattern.for_each_match(piece, scratch.regex, [&](std::size_t b, std::size_t e) {
      if (b > done) out.push_back(piece.substr(done, b - done));
      if (e > b) out.push_back(piece.substr(b, e - b));
      done = e;
    });
    if (done < piece.size()) out.push_back(piece.substr(done));
    return;
  }
  // The general case follows Hugging Face's NormalizedString::split: the piece is cut into
  // parts (matches and gaps), parts are merged by the behaviour, empty parts are dropped.
  auto& parts = scratch.parts;
  parts.clear();
  std::size_t done = 0;
  step.pattern.for_each_match(piece, scratch.regex, [&](std::size_t b, std::size_t e) {
    if (b > done) parts.push_back({done, b, step.invert});
    parts.push_back({b, e, !step.invert});
    done = e;
  });
  if (done < piece.size()) parts.push_back({done, piece.size(), step.invert});

  std::vector<PreTokenizerScratch::Part> merged;
  merged.reserve(parts.size());
  bool previous_match = false;
  switch (step.behavior) {
    case SplitBehavior::isolated:
    case SplitBehavior::removed:
      merged = parts;
      break;
    case SplitBehavior::contiguous:
      for (const auto& p : parts) {
        if (p.is_match == previous_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back({p.begin, p.end, false});
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::merged_with_previous:
      for (const auto& p : parts) {
        if (p.is_match && !previous_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back({p.begin, p.end, false});
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::merged_with_next:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty())
          merged.back().begin = it->begin;
        else
          merged.push_back({it->begin, it->end, false});
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
  }
  for (const auto& p : merged) {
    if (step.behavior == SplitBehavior::removed && p.is_match) continue;
    if (p.end > p.begin) out.push_back(piece.substr(p.begin, p.end - p.begin));
  }
}

void PreTokenizer::split(std::string_view text, PreTokenizerScratch& scratch,
                         std::vector<std::string_view>& words) const {
  scratch.owned.clear();
  if (text.empty()) return;
  auto& current = scratch.current;
  auto& next = scratch.next;
  current.assign(1, text);
  for (const SplitStep& step : steps_) {
    next.clear();
    for (const std::string_view piece : current) split_one(step, piece, scratch, next);
    current.swap(next);
  }
  if (add_prefix_space_) {
    for (std::string_view& piece : current) {
      if (piece.front() == ' ') continue;
      std::string& spaced = scratch.owned.emplace_back(1, ' ');
      spaced.append(piece);
      piece = spaced;
    }
  }
  if (!byte_level_regex_.empty()) {
    for (const std::string_view piece : current)
      split_one(byte_level_regex_[0], piece, scratch, words);
  } else {
    words.insert(words.end(), current.begin(), current.end());
  }
}

}  // namespace whale
