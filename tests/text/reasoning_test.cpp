#include "text/reasoning.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace whale {
namespace {

ReasoningSplit feed_pieces(const std::vector<std::string>& pieces, ReasoningStart start) {
  ReasoningSplitter splitter(start);
  ReasoningSplit all;
  for (const std::string& piece : pieces) {
    const ReasoningSplit part = splitter.feed(piece);
    all.reasoning += part.reasoning;
    all.content += part.content;
  }
  const ReasoningSplit rest = splitter.finish();
  all.reasoning += rest.reasoning;
  all.content += rest.content;
  return all;
}

ReasoningSplit feed_bytes(std::string_view output, ReasoningStart start) {
  std::vector<std::string> bytes;
  for (char c : output) bytes.emplace_back(1, c);
  return feed_pieces(bytes, start);
}

void expect_split(std::string_view output, ReasoningStart start, std::string_view reasoning,
                  std::string_view content) {
  SCOPED_TRACE(std::string(output));
  const ReasoningSplit whole = split_reasoning(output, start);
  EXPECT_EQ(whole.reasoning, reasoning);
  EXPECT_EQ(whole.content, content);
  const ReasoningSplit bytewise = feed_bytes(output, start);
  EXPECT_EQ(bytewise.reasoning, reasoning);
  EXPECT_EQ(bytewise.content, content);
}

TEST(Reasoning, PromptThatOpenedThinkStartsInsideReasoning) {
  // R1's prompt ends "<think>\n": the output never shows the opening tag.
  expect_split("The user wants 2+2.\nThat is 4.\n</think>\n\nIt is 4.", ReasoningStart::kReasoning,
               "The user wants 2+2.\nThat is 4.", "It is 4.");
  // V3.1 thinking: the prompt ends "<think>", no newline conventions.
  expect_split("basic arithmetic</think>4", ReasoningStart::kReasoning, "basic arithmetic", "4");
}

TEST(Reasoning, OutputThatOpensThinkItself) {
  // R1-0528 writes the tags itself.
  expect_split("<think>\nPick blue.\n</think>\n\nBlue.", ReasoningStart::kAnswer, "Pick blue.",
               "Blue.");
  expect_split("<think></think>Blue.", ReasoningStart::kAnswer, "", "Blue.");
  expect_split("<think>\n\n</think>\n\nBlue.", ReasoningStart::kAnswer, "", "Blue.");
}

TEST(Reasoning, NoThinkTagMeansEverythingIsAnswer) {
  expect_split("Paris is the capital of France.", ReasoningStart::kAnswer, "",
               "Paris is the capital of France.");
  expect_split("\n\nLeading newlines stay.", ReasoningStart::kAnswer, "",
               "\n\nLeading newlines stay.");
  // A tag anywhere but at the very start is text.
  expect_split("Use <think> and </think> tags.", ReasoningStart::kAnswer, "",
               "Use <think> and </think> tags.");
  expect_split("<thinking> is not the tag", ReasoningStart::kAnswer, "",
               "<thinking> is not the tag");
  expect_split("", ReasoningStart::kAnswer, "", "");
}

TEST(Reasoning, StripsOnlyTheConventionalNewlines) {
  // One "\n" after <think>, one before </think>, at most two after </think>.
  expect_split("<think>\n\nA\n\n</think>\n\n\nB\n", ReasoningStart::kAnswer, "\nA\n", "\nB\n");
  expect_split("A</think>\nB", ReasoningStart::kReasoning, "A", "B");
  expect_split("\nA\n</think>B", ReasoningStart::kReasoning, "A", "B");
  expect_split("A\n</think>\n\n", ReasoningStart::kReasoning, "A", "");
  expect_split("A\n</think> \n\nB", ReasoningStart::kReasoning, "A", " \n\nB");
}

TEST(Reasoning, AfterTheAnswerStartsTagsAreText) {
  expect_split("R</think>A</think>B<think>C", ReasoningStart::kReasoning, "R",
               "A</think>B<think>C");
  expect_split("R<think>S</think>A", ReasoningStart::kReasoning, "R<think>S", "A");
}

TEST(Reasoning, UnfinishedReasoningIsFlushedAtTheEnd) {
  expect_split("Still thinking", ReasoningStart::kReasoning, "Still thinking", "");
  expect_split("Cut off\n</thi", ReasoningStart::kReasoning, "Cut off\n</thi", "");
  expect_split("<thi", ReasoningStart::kAnswer, "", "<thi");
  expect_split("<think>\nCut", ReasoningStart::kAnswer, "Cut", "");
}

TEST(Reasoning, TagSplitAcrossPiecesIsHeldBackUntilKnown) {
  ReasoningSplitter splitter(ReasoningStart::kReasoning);
  ReasoningSplit part = splitter.feed("so 4.</th");
  EXPECT_EQ(part.reasoning, "so 4.");  // "</th" may begin the closing tag
  EXPECT_EQ(part.content, "");
  EXPECT_TRUE(splitter.in_reasoning());
  part = splitter.feed("ink>\n\nFour");
  EXPECT_EQ(part.reasoning, "");
  EXPECT_EQ(part.content, "Four");
  EXPECT_FALSE(splitter.in_reasoning());
  part = splitter.finish();
  EXPECT_EQ(part.reasoning, "");
  EXPECT_EQ(part.content, "");
}

TEST(Reasoning, HoldsBackOnlyAPossibleTagPrefix) {
  ReasoningSplitter splitter(ReasoningStart::kReasoning);
  EXPECT_EQ(splitter.feed("a<b").reasoning, "a<b");  // "<b" cannot begin </think>
  EXPECT_EQ(splitter.feed("x<").reasoning, "x");
  EXPECT_EQ(splitter.feed("/").reasoning, "");
  EXPECT_EQ(splitter.feed("p>").reasoning, "</p>");
  EXPECT_EQ(splitter.feed("line\n").reasoning, "line");  // the "\n" may precede </think>
  EXPECT_EQ(splitter.feed("next").reasoning, "\nnext");

  ReasoningSplitter answer(ReasoningStart::kAnswer);
  EXPECT_EQ(answer.feed("<").content, "");  // may begin <think>
  EXPECT_EQ(answer.feed("b>").content, "<b>");
  EXPECT_EQ(answer.feed("<think>").content, "<think>");  // not at the start: text, at once
}

TEST(Reasoning, ByteByByteEqualsWholeForManyStreams) {
  const std::vector<std::string> outputs = {
      "<think>\nStep 1.\nStep 2.\n</think>\n\nDone.",
      "<think>\n</think>\n\n",
      "<think>a\n\n\n</think>\n\n\n\nb",
      "reason\n</th\n</think>answer </think> more",
      "\n\n\n",
      "</think>",
      "<think><think></think></think>",
      "日本語で考える。\n</think>\n\n答え：「はい」🙂",
      "<<think>",
      "<think",
  };
  for (const ReasoningStart start : {ReasoningStart::kAnswer, ReasoningStart::kReasoning}) {
    for (const std::string& output : outputs) {
      SCOPED_TRACE(output);
      const ReasoningSplit whole = split_reasoning(output, start);
      const ReasoningSplit bytewise = feed_bytes(output, start);
      EXPECT_EQ(bytewise.reasoning, whole.reasoning);
      EXPECT_EQ(bytewise.content, whole.content);
      // Every split into two pieces, too.
      for (std::size_t cut = 0; cut <= output.size(); ++cut) {
        const ReasoningSplit two = feed_pieces({output.substr(0, cut), output.substr(cut)}, start);
        EXPECT_EQ(two.reasoning, whole.reasoning) << "cut at " << cut;
        EXPECT_EQ(two.content, whole.content) << "cut at " << cut;
      }
    }
  }
}

TEST(Reasoning, StartFollowsTheRenderedPrompt) {
  EXPECT_EQ(reasoning_start_for_prompt("<｜User｜>Hi<｜Assistant｜><think>\n"),
            ReasoningStart::kReasoning);  // R1, R1-Distill
  EXPECT_EQ(reasoning_start_for_prompt("<｜User｜>Hi<｜Assistant｜><think>"),
            ReasoningStart::kReasoning);  // V3.1 thinking
  EXPECT_EQ(reasoning_start_for_prompt("<｜User｜>Hi<｜Assistant｜></think>"),
            ReasoningStart::kAnswer);  // V3.1 non-thinking
  EXPECT_EQ(reasoning_start_for_prompt("<｜User｜>Hi<｜Assistant｜>"), ReasoningStart::kAnswer);
  EXPECT_EQ(reasoning_start_for_prompt(""), ReasoningStart::kAnswer);
}

}  // namespace
}  // namespace whale
