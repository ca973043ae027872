// whale's commands on the dense golden folders, run as a user would: logits equal to the
// reference, greedy generation equal to the reference tokens, text generation through the
// tokenizer and the R1-Distill chat format, chat, inspect and bench.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace {

struct CommandResult {
  int status;
  std::string output;
};

CommandResult run(const std::string& args) {
  const std::string cmd = std::string(WHALE_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = p != nullptr ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string folder(const std::string& name) {
  return std::string(WHALE_TEST_DATA) + "/golden-dense/" + name;
}

nlohmann::json case_named(const std::string& name, const std::string& case_name) {
  std::ifstream in(folder(name) + "/cases.json");
  for (const auto& c : nlohmann::json::parse(in))
    if (c["name"] == case_name) return c;
  return {};
}

std::string join(const std::vector<int>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

class DenseCliTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DenseCliTest, LogitsCommandWritesReferenceLogits) {
  const auto c = case_named(GetParam(), "split");
  const auto out = std::filesystem::temp_directory_path() / ("whale_dense_logits_" + GetParam());
  const CommandResult r =
      run("logits " + folder(GetParam()) + " --ids " + join(c["ids"]) + " --prefill " +
          std::to_string(c["prefill"].get<int>()) + " -t 2 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto got = read_floats(out.string());
  const auto want = read_floats(folder(GetParam()) + "/" + c["logits"].get<std::string>());
  ASSERT_EQ(got.size(), want.size());
  float worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  EXPECT_LE(worst, 3e-4f);
  std::filesystem::remove(out);
}

TEST_P(DenseCliTest, GenerateIdsGreedyEqualsReference) {
  const auto c = case_named(GetParam(), "plain");
  const std::vector<int> ids = c["ids"];
  const std::vector<int> prompt(ids.begin(), ids.begin() + c["greedy_prompt_len"].get<int>());
  const CommandResult r =
      run("generate " + folder(GetParam()) + " --ids " + join(prompt) + " -n 12 --temperature 0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, join(c["greedy"]) + "\n");
}

TEST_P(DenseCliTest, GeneratePromptRunsThroughTokenizerAndChatFormat) {
  const CommandResult r = run("generate " + folder(GetParam()) +
                              " -p 'What is 2+3?' -n 8 --temperature 0 --show-reasoning");
  EXPECT_EQ(r.status, 0) << r.output;
  // The R1-Distill generation prompt opens the reasoning, so the text arrives as reasoning.
  EXPECT_NE(r.output.find("<think>"), std::string::npos) << r.output;
}

TEST_P(DenseCliTest, ChatAnswersPipedInput) {
  const std::string cmd = "printf 'What is 2+3?' | " + std::string(WHALE_BINARY) + " chat " +
                          folder(GetParam()) + " -n 6 --temperature 0 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_EQ(out.find("error"), std::string::npos) << out;
}

TEST_P(DenseCliTest, InspectDescribesTheDenseModel) {
  const CommandResult r = run("inspect " + folder(GetParam()) + " --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["architecture"], GetParam() == "qwen2-tiny" ? "qwen2" : "llama");
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["hidden_size"], 128);
  EXPECT_EQ(j["kv_bytes_per_token_f32"], 2 * 2 * 2 * 16 * 4);
  EXPECT_EQ(j["total_parameters"], j["active_parameters"].get<std::int64_t>() + 1024 * 128 - 128);
  const CommandResult text = run("inspect " + folder(GetParam()));
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("2 KV heads of 16 dims"), std::string::npos) << text.output;
}

TEST_P(DenseCliTest, BenchRuns) {
  const CommandResult r =
      run("bench " + folder(GetParam()) + " -p 8 -n 4 -r 1 -t 2 --no-bandwidth --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_TRUE(j.is_object()) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Folders, DenseCliTest, ::testing::Values("qwen2-tiny", "llama-tiny"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace

namespace whale {
namespace {

// The same commands on llama.cpp's BF16 GGUF of each folder: the tokenizer and chat template
// come from the GGUF metadata.
std::string bf16_gguf(const std::string& name) {
  return folder(name) + "/" + name + ".bf16.gguf";
}

class DenseGgufCliTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DenseGgufCliTest, GenerateIdsGreedyEqualsReference) {
  const auto c = case_named(GetParam(), "split");
  const std::vector<int> ids = c["ids"];
  const std::vector<int> prompt(ids.begin(), ids.begin() + c["greedy_prompt_len"].get<int>());
  const CommandResult r = run("generate " + bf16_gguf(GetParam()) + " --ids " + join(prompt) +
                              " -n 12 --temperature 0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, join(c["greedy"]) + "\n");
}

TEST_P(DenseGgufCliTest, PromptTokenizedAndFormattedFromTheMetadata) {
  // whale prompt --ids on the GGUF equals the folder's (tokenizer.json + tokenizer_config.json).
  const test::TempDir dir;
  const std::string request_file = dir.file("request.json");
  std::ofstream(request_file)
      << R"({"messages":[{"role":"user","content":"What is 2+3? Führer 数据"}]})";
  const CommandResult a = run("prompt " + bf16_gguf(GetParam()) + " --ids < " + request_file);
  const CommandResult b = run("prompt " + folder(GetParam()) + " --ids < " + request_file);
  ASSERT_EQ(a.status, 0) << a.output;
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(a.output, b.output);
  const CommandResult g = run("generate " + bf16_gguf(GetParam()) +
                              " -p 'What is 2+3?' -n 6 --temperature 0 --show-reasoning");
  EXPECT_EQ(g.status, 0) << g.output;
  EXPECT_NE(g.output.find("<think>"), std::string::npos) << g.output;
}

TEST_P(DenseGgufCliTest, BenchRunsOnQ8_0) {
  const CommandResult r = run("bench " + folder(GetParam()) + "/" + GetParam() +
                              ".q8_0.gguf -p 8 -n 4 -r 1 -t 2 --no-bandwidth --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Folders, DenseGgufCliTest, ::testing::Values("qwen2-tiny", "llama-tiny"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace whale
