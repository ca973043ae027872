#include "text/reasoning.h"

#include <algorithm>

namespace whale {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";
// The reasoning's last "\n" belongs to the closing tag, so it is held back with it.
constexpr std::string_view kNewlineClose = "\n</think>";

// The length of the longest end of `text` that is a proper beginning of `tag`.
std::size_t partial_tag_at_end(std::string_view text, std::string_view tag) {
  for (std::size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

}  // namespace

ReasoningStart reasoning_start_for_prompt(std::string_view prompt) {
  if (prompt.ends_with('\n')) prompt.remove_suffix(1);
  return prompt.ends_with(kOpen) ? ReasoningStart::kReasoning : ReasoningStart::kAnswer;
}

ReasoningSplitter::ReasoningSplitter(ReasoningStart start)
    : state_(start == ReasoningStart::kReasoning ? State::kReasoning : State::kMaybeOpening) {}

void ReasoningSplitter::take_reasoning(std::string_view text, ReasoningSplit& out) {
  if (!reasoning_started_ && !text.empty()) {
    reasoning_started_ = true;
    if (text.front() == '\n') text.remove_prefix(1);  // the "\n" of "<think>\n"
  }
  out.reasoning += text;
}

void ReasoningSplitter::take_answer(std::string_view text, ReasoningSplit& out) {
  while (answer_newlines_to_drop_ > 0 && !text.empty()) {
    if (text.front() == '\n') {
      text.remove_prefix(1);
      --answer_newlines_to_drop_;
    } else {
      answer_newlines_to_drop_ = 0;
    }
  }
  out.content += text;
}

ReasoningSplit ReasoningSplitter::feed(std::string_view piece) {
  ReasoningSplit out;
  held_ += piece;
  std::string_view text = held_;
  if (state_ == State::kMaybeOpening) {
    if (text.starts_with(kOpen)) {
      text.remove_prefix(kOpen.size());
      state_ = State::kReasoning;
    } else if (kOpen.starts_with(text)) {
      return out;  // "", "<", "<th", ...: wait for more
    } else {
      state_ = State::kAnswer;
    }
  }
  if (state_ == State::kReasoning) {
    if (const std::size_t close = text.find(kClose); close != std::string_view::npos) {
      std::string_view reasoning = text.substr(0, close);
      // The "\n" before "</think>" is convention, unless it is the one after "<think>".
      if (reasoning.ends_with('\n') && (reasoning_started_ || reasoning.size() > 1))
        reasoning.remove_suffix(1);
      take_reasoning(reasoning, out);
      reasoning_started_ = true;
      text.remove_prefix(close + kClose.size());
      state_ = State::kAnswer;
      answer_newlines_to_drop_ = 2;
    } else {
      const std::size_t hold =
          std::max(partial_tag_at_end(text, kClose), partial_tag_at_end(text, kNewlineClose));
      take_reasoning(text.substr(0, text.size() - hold), out);
      held_.erase(0, held_.size() - hold);
      return out;
    }
  }
  take_answer(text, out);
  held_.clear();
  return out;
}

ReasoningSplit ReasoningSplitter::finish() {
  ReasoningSplit out;
  if (state_ == State::kReasoning) {
    take_reasoning(held_, out);
  } else {
    take_answer(held_, out);
  }
  held_.clear();
  return out;
}

ReasoningSplit split_reasoning(std::string_view output, ReasoningStart start) {
  ReasoningSplitter splitter(start);
  ReasoningSplit out = splitter.feed(output);
  ReasoningSplit rest = splitter.finish();
  out.reasoning += rest.reasoning;
  out.content += rest.content;
  return out;
}

}  // namespace whale
