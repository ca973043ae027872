// `whale prompt` run as a program: a request on stdin, the exact prompt on stdout.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path kTemplates = fs::path(WHALE_TEST_DATA) / "chat-templates" / "templates";

// `path` in single quotes, for the shell.
std::string quoted(const fs::path& path) {
  std::string text = "'";
  text += path.string();
  text += '\'';
  return text;
}

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class PromptCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("whale_prompt_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `whale prompt ARGS` with `stdin_text` on its standard input.
  Result run(const std::string& args, const std::string& stdin_text) {
    write_file(dir_ / "stdin", stdin_text);
    const std::string command =
        fmt::format("{} prompt {} < {} > {} 2> {}", quoted(WHALE_BINARY), args,
                    quoted(dir_ / "stdin"), quoted(dir_ / "stdout"), quoted(dir_ / "stderr"));
    const int status = std::system(command.c_str());
    Result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(dir_ / "stdout");
    result.err = read_file(dir_ / "stderr");
    return result;
  }

  fs::path dir_;
};

const char* kRequest =
    R"({"messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "What is 12*13?"},
                     {"role": "assistant", "content": "<think>\n120 + 36\n</think>\n\n156."},
                     {"role": "user", "content": "And 12*14?"}],
        "add_generation_prompt": true})";

TEST_F(PromptCommand, PrintsTheExactPromptForANamedFormat) {
  const Result r = run("--chat-format deepseek-r1", kRequest);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>What is "
            "12*13?<｜Assistant｜>\n\n156.<｜end▁of▁sentence｜><｜User｜>And "
            "12*14?<｜Assistant｜><think>\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(PromptCommand, DetectsTheFormatFromTheModelsTokenizerConfig) {
  const fs::path model = dir_ / "model";
  fs::create_directories(model);
  const nlohmann::json config = {{"bos_token", {{"content", "<BOS>"}, {"lstrip", false}}},
                                 {"chat_template", read_file(kTemplates / "deepseek-v3.1.jinja")}};
  write_file(model / "tokenizer_config.json", config.dump());
  const std::string request =
      R"({"messages": [{"role": "user", "content": "Hi"}], "thinking": true})";
  Result r = run(quoted(model), request);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<BOS><｜User｜>Hi<｜Assistant｜><think>");
  // --chat-format wins over the template; the model's BOS still applies.
  r = run(quoted(model) + " --chat-format deepseek-v3", request);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<BOS><｜User｜>Hi<｜Assistant｜>");
  // A chat_template.jinja file beside it is what recent transformers versions read.
  write_file(model / "chat_template.jinja", read_file(kTemplates / "deepseek-r1.jinja"));
  r = run(quoted(model), request);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<BOS><｜User｜>Hi<｜Assistant｜><think>\n");
}

TEST_F(PromptCommand, WithoutAFormatItSaysToPassChatFormat) {
  Result r = run("", kRequest);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("pass --chat-format NAME"), std::string::npos) << r.err;

  const fs::path model = dir_ / "model";
  fs::create_directories(model);
  write_file(model / "tokenizer_config.json", R"({"bos_token": "<s>"})");
  r = run(quoted(model), kRequest);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pass --chat-format NAME"), std::string::npos) << r.err;

  write_file(model / "tokenizer_config.json",
             R"({"chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})");
  r = run(quoted(model), kRequest);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not recognised"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deepseek-r1-0528"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pass --chat-format NAME"), std::string::npos) << r.err;
}

TEST_F(PromptCommand, MalformedJsonIsOneClearError) {
  const Result r = run("--chat-format deepseek-v3", R"({"messages": [{"role": "user", )");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("whale: error: stdin: malformed JSON: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(PromptCommand, RequestErrorsNameTheField) {
  const Result r = run("--chat-format deepseek-v3",
                       R"({"messages": [{"role": "user", "content": "a"}, {"role": "bot"}]})");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "whale: error: messages[1].role: expected one of system, user, assistant, tool, got "
            "\"bot\"\n");
}

TEST_F(PromptCommand, UnknownFormatNameListsTheNames) {
  const Result r = run("--chat-format llama3", kRequest);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("chat format 'llama3': expected one of deepseek-v2, deepseek-v3,"),
            std::string::npos)
      << r.err;
}

}  // namespace
