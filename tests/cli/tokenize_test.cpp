// `whale tokenize` run as a program: JSON lines in and out, BOS handling, --decode, and an
// error that names the malformed line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs `whale tokenize <args>` with `input` on stdin.
Result tokenize(const std::string& args, const std::string& input) {
  const fs::path dir = fs::temp_directory_path() / ("whale_cli_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "in") << input;
  const std::string command = std::string(WHALE_BINARY) + " tokenize " + args + " < " +
                              (dir / "in").string() + " > " + (dir / "out").string() + " 2> " +
                              (dir / "err").string();
  Result run;
  const int status = std::system(command.c_str());
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream out, err;
  out << std::ifstream(dir / "out").rdbuf();
  err << std::ifstream(dir / "err").rdbuf();
  run.out = out.str();
  run.err = err.str();
  fs::remove_all(dir);
  return run;
}

const std::string kTokenizer = std::string(WHALE_ASSETS) + "/tokenizers/deepseek-v3";

TEST(TokenizeCommand, EncodesJsonLinesWithBos) {
  const Result run =
      tokenize(kTokenizer, "{\"text\": \"Hello world\"}\n{\"text\": \"中文\"}\n{\"text\": \"\"}\n");
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "{\"ids\":[0,19923,2058]}\n{\"ids\":[0,21134]}\n{\"ids\":[0]}\n");
}

TEST(TokenizeCommand, NoBosAndATokenizerJsonPath) {
  const Result run =
      tokenize(kTokenizer + "/tokenizer.json --no-bos", "{\"text\": \"<｜User｜>Hello world\"}\n");
  EXPECT_EQ(run.status, 0) << run.err;
  // tokenizer.json named directly still finds tokenizer_config.json beside it; --no-bos wins.
  EXPECT_EQ(run.out, "{\"ids\":[128803,19923,2058]}\n");
}

TEST(TokenizeCommand, DecodesIdsWithAndWithoutSpecialTokens) {
  const std::string input = "{\"ids\": [0, 19923, 2058, 1]}\n{\"ids\": [3128, 246, 240]}\n";
  Result run = tokenize(kTokenizer + " --decode", input);
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(
      run.out,
      "{\"text\":\"<｜begin▁of▁sentence｜>Hello world<｜end▁of▁sentence｜>\"}\n{\"text\":\"𝕏\"}\n");
  run = tokenize(kTokenizer + " --decode --skip-special", input);
  EXPECT_EQ(run.out, "{\"text\":\"Hello world\"}\n{\"text\":\"𝕏\"}\n");
}

TEST(TokenizeCommand, MalformedLineIsNamedByNumber) {
  Result run = tokenize(kTokenizer, "{\"text\": \"ok\"}\n{\"text\": 5}\n");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("stdin line 2"), std::string::npos) << run.err;
  run = tokenize(kTokenizer, "{\"text\": \"ok\"}\n{\"text\": \"a\"}\nnot json\n");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("stdin line 3: malformed JSON"), std::string::npos) << run.err;
  run = tokenize(kTokenizer + " --decode", "{\"ids\": [1, -4]}\n");
  EXPECT_NE(run.err.find("stdin line 1: ids[1]"), std::string::npos) << run.err;
}

TEST(TokenizeCommand, MissingTokenizerIsAnError) {
  const Result run = tokenize("/nonexistent/folder", "");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("/nonexistent/folder"), std::string::npos) << run.err;
}

}  // namespace
