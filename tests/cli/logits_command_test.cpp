// The commands anyone can use to check whale against a reference, run as a user would.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

std::string golden(const std::string& folder) {
  return std::string(WHALE_TEST_DATA) + "/golden/" + folder;
}

nlohmann::json case_named(const std::string& folder, const std::string& name) {
  std::ifstream in(golden(folder) + "/cases.json");
  for (const auto& c : nlohmann::json::parse(in))
    if (c["name"] == name) return c;
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

TEST(LogitsCommandTest, WritesReferenceLogitsAndExperts) {
  const auto c = case_named("v3-tiny-fp8", "p40_d6");
  const auto out = std::filesystem::temp_directory_path() / "whale_logits_test.f32";
  const auto experts = std::filesystem::temp_directory_path() / "whale_logits_test.json";
  const CommandResult r = run("logits " + golden("v3-tiny-fp8") + " --ids " + join(c["ids"]) +
                    " --prefill " + std::to_string(c["prefill"].get<int>()) + " --out " +
                    out.string() + " --experts-out " + experts.string() + " -t 2");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto got = read_floats(out.string());
  const auto want = read_floats(golden("v3-tiny-fp8") + "/" + c["logits"].get<std::string>());
  ASSERT_EQ(got.size(), want.size());
  float worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  EXPECT_LE(worst, 3e-4f);
  std::ifstream ein(experts), wein(golden("v3-tiny-fp8") + "/" + c["experts"].get<std::string>());
  EXPECT_EQ(nlohmann::json::parse(ein)["experts"], nlohmann::json::parse(wein)["experts"]);
  std::filesystem::remove(out);
  std::filesystem::remove(experts);
}

TEST(GenerateCommandTest, PrintsTheGreedyContinuation) {
  for (const char* folder : {"v2-lite-tiny", "v3-tiny-bf16"}) {
    const auto c = case_named(folder, "p7_d5");
    std::vector<int> ids = c["ids"];
    ids.resize(c["greedy_prompt_len"].get<std::size_t>());
    const CommandResult r = run("generate " + golden(folder) + " --ids " + join(ids) + " -n 12 --temperature 0");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, join(c["greedy"]) + "\n") << folder;
  }
}

TEST(InspectCommandTest, ReportsShapeSizesAndCache) {
  const CommandResult r = run("inspect " + golden("v3-tiny-fp8") + " --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["architecture"], "deepseek_v3");
  // 3 layers x (kv_lora 96 + rope 16) cached values, 2 bytes each in BF16.
  EXPECT_EQ(j["kv_bytes_per_token_bf16"], 3 * 112 * 2);
  EXPECT_GT(j["total_parameters"].get<long>(), j["active_parameters"].get<long>());
  EXPECT_GT(j["mtp_parameters"].get<long>(), 0);
  EXPECT_TRUE(j["dtypes"].contains("F8_E4M3"));
  const CommandResult text = run("inspect " + golden("v2-lite-tiny"));
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("plain q_proj"), std::string::npos);
}

}  // namespace

namespace {

TEST(PromptCommandTest, IdsAreTheRenderedPromptThroughTheModelsTokenizer) {
  // A model folder needs only its tokenizer files for `whale prompt`.
  const auto dir = std::filesystem::temp_directory_path() / "whale_prompt_ids_test";
  std::filesystem::create_directories(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(std::string(WHALE_ASSETS) + "/tokenizers/deepseek-v3/" + f, dir / f,
                               std::filesystem::copy_options::overwrite_existing);
  const auto request = (dir / "request.json").string();
  std::ofstream(request) << R"({"messages":[{"role":"user","content":"Hi"}]})";
  const CommandResult r = run("prompt " + dir.string() + " --ids < " + request);
  ASSERT_EQ(r.status, 0) << r.output;
  // <｜begin▁of▁sentence｜> <｜User｜> Hi <｜Assistant｜>, ids read from the tokenizer fixture.
  EXPECT_EQ(r.output.rfind("0,128803,", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(",128804\n"), std::string::npos) << r.output;
  const CommandResult no_model = run("prompt --chat-format deepseek-v3 --ids < " + request);
  EXPECT_NE(no_model.status, 0);
  EXPECT_NE(no_model.output.find("--ids"), std::string::npos) << no_model.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
