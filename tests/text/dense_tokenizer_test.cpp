// The real (cut-down) Qwen2 and Llama 3 byte-level BPE tokenizers of the golden-dense folders:
// llama.cpp's test-tokenizer-0 cases, the golden cases' text -> ids with BOS and special
// tokens written in the text, NFC normalization, and the R1-Distill chat format.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace whale {
namespace {

std::string folder_path(const std::string& folder) {
  return std::string(WHALE_TEST_DATA) + "/golden-dense/" + folder;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json cases(const std::string& folder) {
  return nlohmann::json::parse(read_file(folder_path(folder) + "/cases.json"));
}

class DenseTokenizerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DenseTokenizerTest, LlamaCppTokenizerTestCasesMatch) {
  const Tokenizer tok = Tokenizer::load(folder_path(GetParam()));
  const std::string inp = read_file(folder_path(GetParam()) + "/tokenizer-test.inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (std::size_t begin = 0;;) {
    const std::size_t end = inp.find(separator, begin);
    if (end == std::string::npos) break;
    texts.push_back(inp.substr(begin, end - begin));
    begin = end + separator.size();
  }
  std::istringstream out(read_file(folder_path(GetParam()) + "/tokenizer-test.out"));
  std::string line;
  std::size_t n = 0;
  while (std::getline(out, line)) {
    ASSERT_LT(n, texts.size());
    std::vector<std::int32_t> expected;
    std::istringstream ids(line);
    for (std::int32_t id; ids >> id;) expected.push_back(id);
    EXPECT_EQ(tok.encode(texts[n], /*add_special=*/false), expected) << texts[n];
    ++n;
  }
  EXPECT_EQ(n, texts.size());
  EXPECT_GE(n, 2u);
}

TEST_P(DenseTokenizerTest, CaseTextEncodesToCaseIdsWithBosAndSpecialTokens) {
  const Tokenizer tok = Tokenizer::load(folder_path(GetParam()));
  for (const auto& c : cases(GetParam())) {
    const auto ids = c["ids"].get<std::vector<std::int32_t>>();
    EXPECT_EQ(tok.encode(c["text"].get<std::string>()), ids) << c["name"];
    EXPECT_EQ(tok.decode(ids, /*skip_special=*/true), c["text"].get<std::string>()) << c["name"];
  }
}

TEST_P(DenseTokenizerTest, BosAndEosAreTheDeepSeekSentenceTokens) {
  const Tokenizer tok = Tokenizer::load(folder_path(GetParam()));
  ASSERT_TRUE(tok.bos_id() && tok.eos_id());
  EXPECT_EQ(tok.token_text(*tok.bos_id()), "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(tok.token_text(*tok.eos_id()), "<｜end▁of▁sentence｜>");
  EXPECT_TRUE(tok.add_bos());
}

TEST_P(DenseTokenizerTest, ChatTemplateIsR1DistillAndRendersTheChatCase) {
  const auto config =
      nlohmann::json::parse(read_file(folder_path(GetParam()) + "/tokenizer_config.json"));
  const ChatFormatId format = detect_chat_format(config["chat_template"].get<std::string>());
  EXPECT_EQ(format, ChatFormatId::kDeepSeekR1Distill);
  ChatRequest request;
  ChatMessage user;
  user.role = ChatRole::kUser;
  user.content = "What is 2+3?";
  request.messages.push_back(user);
  const std::string prompt = render_chat(format, request, config["bos_token"].get<std::string>());
  const Tokenizer tok = Tokenizer::load(folder_path(GetParam()));
  for (const auto& c : cases(GetParam()))
    if (c["name"] == "chat") {
      EXPECT_EQ(tok.encode(prompt, /*add_special=*/false),
                c["ids"].get<std::vector<std::int32_t>>());
    }
}

INSTANTIATE_TEST_SUITE_P(Folders, DenseTokenizerTest, ::testing::Values("qwen2-tiny", "llama-tiny"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(DenseTokenizer, Qwen2NormalizesToNfcAndLlamaDoesNot) {
  // "é" precomposed (U+00E9) and decomposed (e + U+0301 combining acute).
  const std::string composed = "caf\xC3\xA9", decomposed = "cafe\xCC\x81";
  const Tokenizer qwen2 = Tokenizer::load(folder_path("qwen2-tiny"));
  EXPECT_EQ(qwen2.encode(decomposed, false), qwen2.encode(composed, false));
  const Tokenizer llama = Tokenizer::load(folder_path("llama-tiny"));
  EXPECT_NE(llama.encode(decomposed, false), llama.encode(composed, false));
  // Hangul syllables compose from their jamo under NFC: U+1100 U+1161 -> U+AC00.
  EXPECT_EQ(qwen2.encode("\xE1\x84\x80\xE1\x85\xA1", false), qwen2.encode("\xEA\xB0\x80", false));
}

}  // namespace
}  // namespace whale
