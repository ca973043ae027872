// The tokenizer a GGUF file carries (tokenizer.ggml.*), held to llama.cpp's tokenizer test
// cases: the vocabulary-only GGUFs of tests/data/gguf-vocab with their .inp/.out files, whose
// expected ids are Hugging Face's (see that folder's README).
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace whale {
namespace {

const std::string kVocab = std::string(WHALE_TEST_DATA) + "/gguf-vocab/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::uint8_t> gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<std::uint8_t> out;
  std::uint8_t buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) out.insert(out.end(), buffer, buffer + n);
  gzclose(f);
  if (n < 0) throw std::runtime_error("gzread failed on " + path);
  return out;
}

// The test strings of a .inp file and the expected ids of its .out file.
struct Cases {
  std::vector<std::string> texts;
  std::vector<std::vector<std::int32_t>> ids;
};

Cases read_cases(const std::string& stem) {
  Cases c;
  const std::string inp = read_file(stem + ".inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  for (std::size_t at = 0;;) {
    const std::size_t next = inp.find(separator, at);
    if (next == std::string::npos) {
      if (at < inp.size()) c.texts.push_back(inp.substr(at));
      break;
    }
    c.texts.push_back(inp.substr(at, next - at));
    at = next + separator.size();
  }
  std::istringstream out(read_file(stem + ".out"));
  for (std::string line; std::getline(out, line);) {
    std::istringstream fields(line);
    std::vector<std::int32_t> ids;
    for (std::int32_t id = 0; fields >> id;) ids.push_back(id);
    c.ids.push_back(std::move(ids));
  }
  return c;
}

struct Vocab {
  std::vector<std::uint8_t> bytes;  // the GGUF image the metadata views point into
  GgufHeader header;
  Tokenizer tokenizer;
};

Vocab load_vocab(const std::string& name) {
  const std::string file = kVocab + "ggml-vocab-" + name + ".gguf";
  std::vector<std::uint8_t> bytes = gunzip(file + ".gz");
  GgufHeader header = parse_gguf(bytes, file);
  Tokenizer tokenizer = Tokenizer::from_gguf(gguf_vocabulary(header.metadata));
  return {std::move(bytes), std::move(header), std::move(tokenizer)};
}

class GgufVocabCases : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(GgufVocabCases, EncodeAsHuggingFaceDoes) {
  const auto [gguf, cases_name] = GetParam();
  const Vocab v = load_vocab(gguf);
  const Cases c = read_cases(kVocab + "ggml-vocab-" + cases_name + ".gguf");
  ASSERT_EQ(c.texts.size(), 46u);
  ASSERT_EQ(c.texts.size(), c.ids.size());
  for (std::size_t i = 0; i < c.texts.size(); ++i) {
    EXPECT_EQ(v.tokenizer.encode(c.texts[i], false), c.ids[i]) << "case " << i << ": \"" << c.texts[i] << "\"";
    EXPECT_EQ(v.tokenizer.decode(c.ids[i]), c.texts[i]) << "case " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vocabularies, GgufVocabCases,
    ::testing::Values(std::pair{"deepseek-v3", "deepseek-v3"}, std::pair{"deepseek-llm", "deepseek-llm"},
                      std::pair{"deepseek-coder", "deepseek-coder"}, std::pair{"qwen2", "qwen2"},
                      std::pair{"qwen2", "deepseek-r1-qwen"}, std::pair{"llama-bpe", "llama-bpe"}),
    [](const auto& param_info) {
      std::string n = param_info.param.second;
      for (char& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

// The GGUF's DeepSeek-V3 vocabulary tokenizes like the tokenizer.json whale ships.
TEST(GgufVocab, DeepSeekV3MatchesTheTokenizerJson) {
  const Vocab v = load_vocab("deepseek-v3");
  const Tokenizer json = Tokenizer::load(std::string(WHALE_ASSETS) + "/tokenizers/deepseek-v3");
  for (const char* text : {"Hello world", "<｜User｜>1+1=?<｜Assistant｜><think>\nok</think>",
                           "数据 模型 123456 ", "  \n\n\tx"}) {
    EXPECT_EQ(v.tokenizer.encode(text, true), json.encode(text, true)) << text;
  }
  EXPECT_EQ(v.tokenizer.bos_id(), json.bos_id());
  EXPECT_EQ(v.tokenizer.eos_id(), json.eos_id());
  EXPECT_TRUE(v.tokenizer.is_special(*v.tokenizer.bos_id()));
}

TEST(GgufVocab, UnknownPreTokenizerIsNamed) {
  GgufVocabulary v;
  v.source = "x.gguf";
  v.model = "gpt2";
  v.pre = "falcon";
  v.tokens = {"a", "b"};
  try {
    (void)Tokenizer::from_gguf(v);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.gguf: tokenizer.ggml.pre is \"falcon\""), std::string::npos)
        << e.what();
  }
}

TEST(GgufVocab, BadMergeAndTokenTypeAreNamed) {
  GgufVocabulary v;
  v.source = "x.gguf";
  v.model = "gpt2";
  v.pre = "qwen2";
  v.tokens = {"a", "b", "ab"};
  v.merges = {"a c"};
  EXPECT_THROW((void)Tokenizer::from_gguf(v), Error);
  v.merges = {"a b"};
  v.token_types = {1, 1, 9};
  try {
    (void)Tokenizer::from_gguf(v);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.token_type[2] is 9"), std::string::npos) << e.what();
  }
  v.token_types = {1, 1, 1};
  v.model = "llama";
  EXPECT_THROW((void)Tokenizer::from_gguf(v), Error);
  v.model = "gpt2";
  v.bos = 7;
  EXPECT_THROW((void)Tokenizer::from_gguf(v), Error);
  v.bos = 0;
  EXPECT_EQ(Tokenizer::from_gguf(v).encode("ab", false), (std::vector<std::int32_t>{2}));
}

}  // namespace
}  // namespace whale
