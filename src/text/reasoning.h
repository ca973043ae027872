// Keeping reasoning apart from the answer while a DeepSeek model generates: text between
// `<think>` and `</think>` is reasoning (the API's reasoning_content), the rest the answer
// (content). Fed text pieces as they are decoded, it holds back only what may be the start of
// a tag, so reasoning and answer stream out with at most a few bytes of delay.
#pragma once

#include <string>
#include <string_view>

namespace whale {

enum class ReasoningStart {
  kAnswer,     // the output may open with `<think>` (R1-0528), or never reasons (V3, V3.1 chat)
  kReasoning,  // the prompt already opened `<think>` (R1's "<think>\n", V3.1 thinking's "<think>")
};

// kReasoning when the rendered prompt ends with `<think>` (optionally followed by "\n").
ReasoningStart reasoning_start_for_prompt(std::string_view prompt);

struct ReasoningSplit {
  std::string reasoning;  // reasoning_content
  std::string content;    // the answer
};

// The newline conventions DeepSeek's API leaves out: one "\n" right after `<think>` and one
// right before `</think>` do not belong to the reasoning, and up to two "\n" right after
// `</think>` (R1 writes "</think>\n\n") do not belong to the answer. `<think>` opens reasoning
// only as the very first text of the output; after `</think>` everything is answer, so tags
// the answer talks about stay text.
class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(ReasoningStart start);

  // The text of `piece` (and of earlier held-back bytes) that is now known to be reasoning or
  // answer.
  ReasoningSplit feed(std::string_view piece);
  // At the end of generation: whatever was held back (an unfinished tag is text after all).
  ReasoningSplit finish();

  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kMaybeOpening, kReasoning, kAnswer };

  void take_reasoning(std::string_view text, ReasoningSplit& out);
  void take_answer(std::string_view text, ReasoningSplit& out);

  State state_;
  std::string held_;                 // bytes not yet classified
  bool reasoning_started_ = false;   // a first reasoning byte has been looked at
  int answer_newlines_to_drop_ = 0;  // left of the "\n\n" after `</think>`
};

// The whole output at once; the same as feeding it in any pieces and finishing.
ReasoningSplit split_reasoning(std::string_view output, ReasoningStart start);

}  // namespace whale
