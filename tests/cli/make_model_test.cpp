// whale make-model from the command line: a loadable folder, and errors that say what to do.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <tuple>

#include "model/deepseek.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

std::pair<int, std::string> run_whale(const std::string& args) {
  const std::string command = std::string(WHALE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(MakeModelCommandTest, WritesALoadableModelAndExplainsBadArguments) {
  const fs::path dir =
      fs::temp_directory_path() / fmt::format("whale-make-model-cli-{}", ::getpid());
  fs::remove_all(dir);
  auto [code, output] =
      run_whale("make-model --shape v2-tiny --dtype fp8 --seed 3 --out " + dir.string());
  ASSERT_EQ(code, 0) << output;
  DeepSeekModel model(dir.string());
  EXPECT_TRUE(model.config().quantization.has_value());

  std::tie(code, output) = run_whale("make-model --shape v2-tiny --out " + dir.string());
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("--force"), std::string::npos) << output;

  std::tie(code, output) = run_whale("make-model --shape nope --out " + dir.string() + "/x");
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("v3-bench"), std::string::npos) << output;

  std::tie(code, output) =
      run_whale("make-model --shape v3-tiny --dtype q4 --out " + dir.string() + "/x");
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("f32, bf16, fp8"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir.string() + "/x"));

  // --force over the same folder; a size with a unit splits it into shards.
  std::tie(code, output) = run_whale(
      "make-model --shape v3-tiny --force --max-shard-bytes 300KB "
      "--out " +
      dir.string());
  ASSERT_EQ(code, 0) << output;
  EXPECT_TRUE(fs::exists(dir / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  DeepSeekModel sharded(dir.string());
  EXPECT_FALSE(sharded.config().quantization.has_value());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace whale
