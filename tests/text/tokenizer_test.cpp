// DeepSeek-V3's tokenizer held to Hugging Face's `tokenizers` (tests/data/tokenizer/README.md):
// every public case's ids, every decode case, the invalid-UTF-8 cases, round trips, the
// special token ids, streaming decode, and the errors for malformed tokenizer files.
#include "text/tokenizer.h"

#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "text/regex.h"
#include "text/utf8.h"
#include "util/error.h"

namespace whale {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const Tokenizer& deepseek() {
  static const Tokenizer tok =
      Tokenizer::load(std::string(WHALE_ASSETS) + "/tokenizers/deepseek-v3");
  return tok;
}

// The case files are split on '\n' only: U+2028, U+2029 and U+0085 occur raw inside lines.
std::vector<json> read_cases(const std::string& name) {
  std::ifstream in(std::string(WHALE_TEST_DATA) + "/tokenizer/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::vector<json> cases;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) cases.push_back(json::parse(line));
  return cases;
}

std::vector<std::int32_t> ids_of(const json& j) {
  return j.get<std::vector<std::int32_t>>();
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(Tokenizer, PublicCasesMatchHuggingFace) {
  const auto cases = read_cases("cases-public.jsonl");
  ASSERT_EQ(cases.size(), 687u);
  int mismatches = 0, checked = 0;
  for (const json& c : cases) {
    const std::string text = c["text"];
    const auto got = deepseek().encode(text, false);
    const auto want = ids_of(c["ids_hf_rust"]);
    ++checked;
    if (got != want) {
      ++mismatches;
      ADD_FAILURE() << c["cat"] << " " << json(text).dump() << "\n  got  " << json(got).dump()
                    << "\n  want " << json(want).dump();
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(checked, 687);
}

TEST(Tokenizer, EncodeWithSpecialPrependsBos) {
  EXPECT_TRUE(deepseek().add_bos());
  EXPECT_FALSE(deepseek().add_eos());
  for (const json& c : read_cases("cases-public.jsonl")) {
    std::vector<std::int32_t> want = {0};
    for (const auto id : ids_of(c["ids_hf_rust"])) want.push_back(id);
    EXPECT_EQ(deepseek().encode(c["text"].get<std::string>(), true), want) << c["text"];
  }
}

TEST(Tokenizer, DecodeOfReferenceIdsGivesText) {
  for (const json& c : read_cases("cases-public.jsonl"))
    EXPECT_EQ(deepseek().decode(ids_of(c["ids_hf_rust"])), c["decoded"].get<std::string>());
}

TEST(Tokenizer, DecodeOfEncodeIsIdentity) {
  for (const json& c : read_cases("cases-public.jsonl")) {
    const std::string text = c["text"];
    const auto ids = deepseek().encode(text, true);
    ASSERT_EQ(ids.front(), 0);
    EXPECT_EQ(deepseek().decode(std::span(ids).subspan(1)), text);
  }
}

TEST(Tokenizer, DecodeCasesMatchHuggingFace) {
  const auto cases = read_cases("cases-decode.jsonl");
  ASSERT_EQ(cases.size(), 18u);
  for (const json& c : cases) {
    const auto ids = ids_of(c["ids"]);
    EXPECT_EQ(deepseek().decode(ids, false), c["decoded"].get<std::string>()) << c["note"];
    EXPECT_EQ(deepseek().decode(ids, true), c["decoded_skip_special"].get<std::string>())
        << c["note"];
  }
}

TEST(Tokenizer, InvalidUtf8IsRejectedOrReplacedByMaximalSubparts) {
  const auto cases = read_cases("cases-bytes.jsonl");
  ASSERT_EQ(cases.size(), 10u);
  for (const json& c : cases) {
    const std::string bytes = from_hex(c["bytes_hex"]);
    EXPECT_EQ(utf8_lossy(bytes), c["lossy_text"].get<std::string>()) << c["note"];
    EXPECT_EQ(deepseek().encode_lossy(bytes, false), ids_of(c["ids_hf_rust_of_lossy"]))
        << c["note"];
    const auto bad = first_invalid_utf8(bytes);
    ASSERT_TRUE(bad.has_value());
    try {
      deepseek().encode(bytes, false);
      ADD_FAILURE() << "accepted invalid UTF-8: " << c["note"];
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fmt::format("at byte {}", *bad)), std::string::npos)
          << e.what();
    }
  }
}

TEST(Tokenizer, SpecialTokenIdsAreThoseOfTokenizerJson) {
  const Tokenizer& tok = deepseek();
  EXPECT_EQ(tok.size(), 128815u);
  EXPECT_EQ(tok.token_id("<｜begin▁of▁sentence｜>"), 0);
  EXPECT_EQ(tok.token_id("<｜end▁of▁sentence｜>"), 1);
  EXPECT_EQ(tok.token_id("<｜▁pad▁｜>"), 2);
  EXPECT_EQ(tok.token_id("<｜place▁holder▁no▁0｜>"), 128000);
  EXPECT_EQ(tok.token_id("<｜place▁holder▁no▁799｜>"), 128799);
  EXPECT_EQ(tok.token_id("<｜fim▁hole｜>"), 128800);
  EXPECT_EQ(tok.token_id("<｜User｜>"), 128803);
  EXPECT_EQ(tok.token_id("<｜Assistant｜>"), 128804);
  EXPECT_EQ(tok.token_id("<|EOT|>"), 128805);
  EXPECT_EQ(tok.token_id("<｜tool▁calls▁begin｜>"), 128806);
  EXPECT_EQ(tok.token_id("<｜tool▁sep｜>"), 128814);
  // V3's tokenizer has no <think> tokens: 128798/128799 are placeholders.
  EXPECT_FALSE(tok.token_id("<think>").has_value());
  EXPECT_FALSE(tok.token_id("</think>").has_value());
  EXPECT_EQ(tok.token_text(128798), "<｜place▁holder▁no▁798｜>");
  EXPECT_EQ(tok.bos_id(), 0);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_TRUE(tok.is_special(0));
  EXPECT_TRUE(tok.is_special(128805));
  EXPECT_FALSE(tok.is_special(128803));  // <｜User｜> is added but special=false
  EXPECT_EQ(tok.token_id("Ġthe"), 270);
  EXPECT_EQ(tok.token_text(270), "Ġthe");
  EXPECT_EQ(tok.token_bytes(270), " the");
  EXPECT_EQ(tok.token_text(128815), "");
  EXPECT_EQ(tok.token_text(-1), "");
  EXPECT_EQ(tok.encode("<｜User｜>hi<｜Assistant｜>", false).front(), 128803);
}

std::string stream(const Tokenizer& tok, std::span<const std::int32_t> ids, bool skip_special,
                   std::vector<std::string>* pieces = nullptr) {
  StreamingDecoder decoder(tok, skip_special);
  std::string text;
  for (const std::int32_t id : ids) {
    std::string piece = decoder.push(id);
    if (pieces) pieces->push_back(piece);
    text += piece;
  }
  return text + decoder.flush();
}

TEST(StreamingDecoder, EmitsWholeCharactersOfCjkAndEmojiSplitAcrossTokens) {
  const Tokenizer& tok = deepseek();
  std::vector<std::string> pieces;
  const std::vector<std::int32_t> math_x = {3128, 246, 240};  // 𝕏 in three tokens
  EXPECT_EQ(stream(tok, math_x, false, &pieces), "𝕏");
  EXPECT_EQ(pieces, (std::vector<std::string>{"", "", "𝕏"}));

  for (const std::string text :
       {"中文分词测试：龘龘龘，𠀀𠀁", "🐳👩‍💻👍🏽🇯🇵 done", "日本語のテキスト"}) {
    const auto ids = tok.encode(text, false);
    pieces.clear();
    EXPECT_EQ(stream(tok, ids, false, &pieces), text);
    for (const std::string& piece : pieces) EXPECT_FALSE(first_invalid_utf8(piece)) << piece;
  }
  // A character split by a skipped special token comes back whole, as in decode.
  const std::vector<std::int32_t> split = {3128, 0, 246, 240};
  EXPECT_EQ(stream(tok, split, true), "𝕏");
  // An unfinished character is held back, then flushed as U+FFFD.
  StreamingDecoder decoder(tok);
  EXPECT_EQ(decoder.push(3128), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");
}

TEST(StreamingDecoder, ConcatenationEqualsDecode) {
  for (const json& c : read_cases("cases-public.jsonl")) {
    const auto ids = ids_of(c["ids_hf_rust"]);
    EXPECT_EQ(stream(deepseek(), ids, false), deepseek().decode(ids, false));
  }
  for (const json& c : read_cases("cases-decode.jsonl")) {
    const auto ids = ids_of(c["ids"]);
    EXPECT_EQ(stream(deepseek(), ids, false), c["decoded"].get<std::string>()) << c["note"];
    EXPECT_EQ(stream(deepseek(), ids, true), c["decoded_skip_special"].get<std::string>());
  }
}

TEST(Tokenizer, EncodeIsTheSameFromManyThreadsAndWithAWarmCache) {
  std::vector<std::string> texts;
  std::vector<std::vector<std::int32_t>> want;
  for (const json& c : read_cases("cases-public.jsonl")) {
    texts.push_back(c["text"]);
    want.push_back(deepseek().encode(texts.back(), false));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int pass = 0; pass < 2; ++pass)
        for (std::size_t i = 0; i < texts.size(); ++i)
          if (deepseek().encode(texts[i], false) != want[i])
            ++failures[static_cast<std::size_t>(t)];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(Tokenizer, LongInputsEncodeAndRoundTrip) {
  // Runs longer than any JIT stack frame or cache entry: whitespace, one long word, digits.
  for (const std::string& text : {std::string(200000, ' '), std::string(100000, 'a'),
                                  std::string(50000, '7') + "\n\n" + std::string(30000, '\t'),
                                  std::string(40000, '\n') + "x"}) {
    const auto ids = deepseek().encode(text, false);
    EXPECT_EQ(deepseek().decode(ids), text);
  }
}

// ---- small tokenizer.json files written by the tests: errors, flags, pre-tokenizer options ----

class TokenizerFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("whale_tokenizer_test_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A tiny valid byte-level BPE tokenizer.json, for the tests to break one field of.
  static json minimal() {
    json vocab = json::object();
    int id = 0;
    for (const char* t : {"a", "b", "ab", "Ġ", "Ġab"}) vocab[t] = id++;
    return json{
        {"version", "1.0"},
        {"added_tokens",
         json::array(
             {json{{"id", 5}, {"content", "<s>"}, {"special", true}, {"normalized", false}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           json::array(
               {json{{"type", "Split"},
                     {"pattern", {{"Regex", "\\s?\\p{L}+"}}},
                     {"behavior", "Isolated"},
                     {"invert", false}},
                json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model",
         {{"type", "BPE"},
          {"vocab", vocab},
          {"merges", json::array({"a b", json::array({"Ġ", "ab"})})}}}};
  }

  std::string write(const std::string& contents) {
    const fs::path path = dir_ / "tokenizer.json";
    std::ofstream(path, std::ios::binary) << contents;
    return path.string();
  }

  // Loading `contents` fails with a message holding the path and each of `parts`.
  void expect_error(const std::string& contents, std::initializer_list<std::string> parts) {
    const std::string path = write(contents);
    try {
      Tokenizer::load(path);
      ADD_FAILURE() << "loaded a malformed tokenizer.json";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
    }
  }

  fs::path dir_;
};

TEST_F(TokenizerFile, MinimalOneLoadsAndEncodes) {
  const Tokenizer tok = Tokenizer::load(write(minimal().dump()));
  EXPECT_EQ(tok.encode("ab ab<s>", false), (std::vector<std::int32_t>{2, 4, 5}));
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{2, 4, 5}, true), "ab ab");
  EXPECT_FALSE(tok.bos_id().has_value());  // no tokenizer_config.json beside it
}

TEST_F(TokenizerFile, MissingModelNamesTheField) {
  json j = minimal();
  j.erase("model");
  expect_error(j.dump(), {"'model' is missing"});
}

TEST_F(TokenizerFile, UnknownModelTypeNamesTheType) {
  json j = minimal();
  j["model"]["type"] = "WordPiece";
  expect_error(j.dump(), {"model.type", "WordPiece", "BPE"});
}

TEST_F(TokenizerFile, BadRegexNamesTheFieldAndOffset) {
  json j = minimal();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "[a-z";
  expect_error(j.dump(),
               {"pre_tokenizer.pretokenizers[0].pattern.Regex", "invalid regex", "offset"});
}

TEST_F(TokenizerFile, NonUtf8FileGivesTheByteOffset) {
  std::string text = minimal().dump();
  const std::size_t at = text.find("\"a b\"") + 1;
  text[at] = '\xFF';
  expect_error(text, {"not valid UTF-8", fmt::format("byte {}", at)});
}

TEST_F(TokenizerFile, MalformedJsonSaysSo) {
  expect_error("{\"model\": ", {"malformed JSON"});
}

TEST_F(TokenizerFile, MergeOfUnknownTokenNamesTheMerge) {
  json j = minimal();
  j["model"]["merges"].push_back("a zz");
  expect_error(j.dump(), {"model.merges[2]", "zz"});
  j["model"]["merges"][2] = "a";
  expect_error(j.dump(), {"model.merges[2]", "one space"});
}

TEST_F(TokenizerFile, UnsupportedPiecesAreNamed) {
  json j = minimal();
  j["normalizer"] = {{"type", "BertNormalizer"}};
  expect_error(j.dump(), {"normalizer.type", "BertNormalizer"});
  j = minimal();
  j["pre_tokenizer"]["pretokenizers"][0]["type"] = "Whitespace";
  expect_error(j.dump(), {"pre_tokenizer.pretokenizers[0].type", "Whitespace"});
  j = minimal();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_error(j.dump(), {"decoder.type", "WordPiece"});
  j = minimal();
  j["added_tokens"][0]["id"] = "five";
  expect_error(j.dump(), {"added_tokens[0].id"});
}

TEST_F(TokenizerFile, ConfigTokenMustExist) {
  const std::string path = write(minimal().dump());
  std::ofstream(dir_ / "tokenizer_config.json")
      << R"({"add_bos_token": true, "bos_token": {"content": "<bos>"}})";
  try {
    Tokenizer::load(dir_.string());
    ADD_FAILURE() << "loaded a config whose bos_token is not a token";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json: bos_token \"<bos>\""),
              std::string::npos)
        << e.what();
  }
  std::ofstream(dir_ / "tokenizer_config.json") << R"({"add_bos_token": true, "bos_token": "<s>"})";
  const Tokenizer tok = Tokenizer::load(path);
  EXPECT_EQ(tok.encode("ab", true), (std::vector<std::int32_t>{5, 2}));
}

// ---- added-token flags, normalizers and split behaviours on small tokenizers -----------------

TEST_F(TokenizerFile, AddedTokenFlagsFollowHuggingFace) {
  json j = minimal();
  j["added_tokens"] = json::array(
      {json{{"id", 5},
            {"content", "<m>"},
            {"lstrip", true},
            {"rstrip", true},
            {"normalized", false}},
       json{{"id", 6}, {"content", "ab"}, {"single_word", true}, {"normalized", false}}});
  const Tokenizer tok = Tokenizer::load(write(j.dump()));
  // lstrip/rstrip take the spaces around <m>; "ab" matches only as a whole word.
  EXPECT_EQ(tok.encode("a <m> b", false), (std::vector<std::int32_t>{0, 5, 1}));
  EXPECT_EQ(tok.encode("ab", false), (std::vector<std::int32_t>{6}));
  EXPECT_EQ(tok.encode("aab", false), (std::vector<std::int32_t>{0, 2}));
}

TEST_F(TokenizerFile, NormalizerAndSplitBehaviours) {
  json j = minimal();
  j["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers",
       json::array({json{{"type", "Replace"}, {"pattern", {{"String", "x"}}}, {"content", "a"}},
                    json{{"type", "Prepend"}, {"prepend", "b"}}})}};
  j["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Split"},
                                            {"pattern", {{"String", "b"}}},
                                            {"behavior", "Removed"},
                                            {"invert", false}};
  const Tokenizer tok = Tokenizer::load(write(j.dump()));
  // "xab" -> "bxab" -> "baab" -> split removing "b" -> "aa" -> a, a
  EXPECT_EQ(tok.encode("xab", false), (std::vector<std::int32_t>{0, 0}));
}

TEST_F(TokenizerFile, ByteLevelPrefixSpaceAndGpt2Regex) {
  json j = minimal();
  // GPT-2 style: ByteLevel alone, splitting with its own regex and adding a prefix space.
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  const Tokenizer tok = Tokenizer::load(write(j.dump()));
  EXPECT_EQ(tok.encode("ab", false), (std::vector<std::int32_t>{4}));  // " ab" -> Ġab
  EXPECT_EQ(tok.encode("ab ab", false), (std::vector<std::int32_t>{4, 4}));
  EXPECT_EQ(tok.encode("ab<s>ab", false), (std::vector<std::int32_t>{4, 5, 4}));
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{4, 5, 4}), " ab<s> ab");
}

TEST(Regex, SpaceClassIsUnicodeWhiteSpaceAsInOniguruma) {
  RegexScratch scratch;
  const Regex space("\\s", Regex::Syntax::oniguruma, "test");
  std::size_t b = 0, e = 0;
  EXPECT_TRUE(space.find("\xC2\x85", 0, scratch, &b, &e));       // U+0085 NEL
  EXPECT_FALSE(space.find("\xE1\xA0\x8E", 0, scratch, &b, &e));  // U+180E is not White_Space
  EXPECT_FALSE(space.find("\xEF\xBB\xBF", 0, scratch, &b, &e));  // U+FEFF
  EXPECT_FALSE(Regex::unicode_version().empty());
}

// Characters assigned in Unicode 15 and 16 are classed as Unicode 16 does, whatever tables the
// PCRE2 build has: Garay digits (Nd) and a letter (Lo), Gurung Khema (Lo), Legacy Computing
// Supplement (So), Kawi (Unicode 15, Lo), and U+1171E, which went from Mn to Mc.
TEST(Regex, CharactersNewInUnicode15And16HaveTheirCategories) {
  RegexScratch scratch;
  const auto matches = [&](const char* pattern, std::string_view text) {
    const Regex re(fmt::format("\\A{}\\z", pattern), Regex::Syntax::oniguruma, "test");
    std::size_t b = 0, e = 0;
    return re.find(text, 0, scratch, &b, &e);
  };
  EXPECT_TRUE(matches("\\p{Nd}", "\U00010D40"));
  EXPECT_TRUE(matches("\\p{N}{2}", "\U00010D40\U00010D41"));
  EXPECT_TRUE(matches("\\p{Lo}", "\U00010D4A"));
  EXPECT_TRUE(matches("\\p{L}", "\U00016100"));
  EXPECT_TRUE(matches("\\p{So}", "\U0001CC00"));
  EXPECT_TRUE(matches("\\p{S}", "\U0001CC01"));
  EXPECT_TRUE(matches("\\p{L}", "\U00011F04"));
  EXPECT_TRUE(matches("\\p{Mc}", "\U0001171E"));
  EXPECT_FALSE(matches("\\p{Cn}", "\U00010D40"));
  // Still unassigned in Unicode 16: no stand-in.
  EXPECT_TRUE(matches("\\p{Cn}", "\U000E0080"));
  // Offsets refer to the text as given, and a literal pattern still compares bytes.
  const Regex letters("\\p{L}+", Regex::Syntax::oniguruma, "test");
  std::size_t b = 0, e = 0;
  ASSERT_TRUE(letters.find("12 \U00016100\U00016101 x", 0, scratch, &b, &e));
  EXPECT_EQ(b, 3u);
  EXPECT_EQ(e, 11u);
  const Regex literal("\U00016100", Regex::Syntax::literal, "test");
  EXPECT_TRUE(literal.find("a\U00016100", 0, scratch, &b, &e));
  EXPECT_EQ(b, 1u);
}

}  // namespace
}  // namespace whale
