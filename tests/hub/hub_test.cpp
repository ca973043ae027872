#include "hub/hub.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "hub/local_models.h"
#include "util/error.h"

namespace whale::hub {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> paths_of(const std::vector<RemoteFile>& files) {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path);
  return paths;
}

std::vector<RemoteFile> remote(std::initializer_list<const char*> paths) {
  std::vector<RemoteFile> files;
  for (const char* p : paths) files.push_back({p, 10, "", ""});
  return files;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RepoArgument, AcceptsOrgNameAndOptionalFile) {
  const RepoRef whole = parse_repo_argument("deepseek-ai/DeepSeek-V2-Lite");
  EXPECT_EQ(whole.repo, "deepseek-ai/DeepSeek-V2-Lite");
  EXPECT_EQ(whole.file_pattern, "");
  const RepoRef file = parse_repo_argument("unsloth/DeepSeek-R1-GGUF:*Q4_K_M*.gguf");
  EXPECT_EQ(file.repo, "unsloth/DeepSeek-R1-GGUF");
  EXPECT_EQ(file.file_pattern, "*Q4_K_M*.gguf");
  EXPECT_EQ(parse_repo_argument("a/b.c_d:dir/x-00001-of-00002.gguf").file_pattern,
            "dir/x-00001-of-00002.gguf");
}

TEST(RepoArgument, RejectsWhatCannotBeARepositoryOrEscapesTheFolder) {
  for (const char* bad : {"", "name", "a/b/c", "/name", "org/", "org/-x", "org/x.", "or g/x",
                          "org/a--b", "org/a..b", "org/x:", "org/x:/etc/passwd", "org/x:../y",
                          "org/x:a//b", "https://huggingface.co/org/x"}) {
    const std::string problem = check_repo_argument(bad);
    EXPECT_NE(problem, "") << bad;
    EXPECT_NE(error_of([&] { parse_repo_argument(bad); }), "") << bad;
  }
  EXPECT_NE(check_repo_argument(std::string("org/") + std::string(100, 'a')), "");
}

TEST(SelectFiles, WholeRepoTakesTopLevelWeightsJsonAndTokenizer) {
  const auto files =
      remote({"README.md", "config.json", "configuration_deepseek.py", "figures/x.png",
              "inference/configs/config_671B.json", "model-00001-of-00002.safetensors",
              "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json",
              "tokenizer.model", "tokenizer_config.json", ".gitattributes"});
  EXPECT_EQ(
      paths_of(select_files(files, {"org/x", ""}, "main")),
      (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                "tokenizer.json", "tokenizer.model", "tokenizer_config.json"}));
}

TEST(SelectFiles, GgufOnlyRepoWithoutFileSuggestsOne) {
  const auto files = remote({"README.md", "Q4/m-Q4-00001-of-00002.gguf", "m-Q8_0.gguf"});
  const std::string message = error_of([&] { select_files(files, {"unsloth/m", ""}, "main"); });
  EXPECT_NE(message.find("whale pull unsloth/m:"), std::string::npos) << message;
  EXPECT_NE(message.find("m-Q8_0.gguf"), std::string::npos) << message;
}

TEST(SelectFiles, ExactPathBeatsGlobAndNameMatchesInSubfolders) {
  const auto files = remote({"a.gguf", "sub/a.gguf", "b.gguf"});
  EXPECT_EQ(paths_of(select_files(files, {"o/r", "a.gguf"}, "main")),
            (std::vector<std::string>{"a.gguf"}));
  EXPECT_EQ(paths_of(select_files(files, {"o/r", "sub/a.gguf"}, "main")),
            (std::vector<std::string>{"sub/a.gguf"}));
  EXPECT_EQ(paths_of(select_files(remote({"sub/a.gguf"}), {"o/r", "a.gguf"}, "main")),
            (std::vector<std::string>{"sub/a.gguf"}));
  EXPECT_EQ(paths_of(select_files(files, {"o/r", "*.gguf"}, "main")),
            (std::vector<std::string>{"a.gguf", "sub/a.gguf", "b.gguf"}));
}

TEST(SelectFiles, GlobTakesSplitPartsAndAPartBringsItsSiblings) {
  const auto files =
      remote({"R1-Q4_K_M/R1-Q4_K_M-00001-of-00003.gguf", "R1-Q4_K_M/R1-Q4_K_M-00002-of-00003.gguf",
              "R1-Q4_K_M/R1-Q4_K_M-00003-of-00003.gguf", "R1-Q2_K/R1-Q2_K-00001-of-00002.gguf",
              "R1-Q2_K/R1-Q2_K-00002-of-00002.gguf", "R1-Q4_K_M.gguf"});
  EXPECT_EQ(select_files(files, {"o/r", "*Q4_K_M*.gguf"}, "main").size(), 4u);
  EXPECT_EQ(paths_of(select_files(files, {"o/r", "R1-Q2_K-00001-of-00002.gguf"}, "main")),
            (std::vector<std::string>{"R1-Q2_K/R1-Q2_K-00001-of-00002.gguf",
                                      "R1-Q2_K/R1-Q2_K-00002-of-00002.gguf"}));
}

TEST(SelectFiles, NoMatchNamesThePatternAndListsCandidates) {
  const auto files = remote({"README.md", "m-Q4_K_M.gguf", "m-Q8_0.gguf"});
  const std::string message = error_of([&] { select_files(files, {"o/r", "m-Q3.gguf"}, "main"); });
  EXPECT_NE(message.find("'m-Q3.gguf'"), std::string::npos) << message;
  EXPECT_NE(message.find("m-Q8_0.gguf"), std::string::npos) << message;
  EXPECT_EQ(message.find("README.md"), std::string::npos)
      << "only files of the same kind: " << message;
}

TEST(NextPageLink, FindsRelNextAmongLinks) {
  EXPECT_EQ(next_page_link(""), "");
  EXPECT_EQ(next_page_link("<https://hf.co/api/x?cursor=abc>; rel=\"next\""),
            "https://hf.co/api/x?cursor=abc");
  EXPECT_EQ(next_page_link("<https://a/prev>; rel=\"prev\", <https://a/next>; rel=\"next\""),
            "https://a/next");
  EXPECT_EQ(next_page_link("<https://a/prev>; rel=\"prev\""), "");
}

TEST(Urls, EncodeLikeHuggingfaceHub) {
  EXPECT_EQ(url_encode("refs/pr/1", false), "refs%2Fpr%2F1");
  EXPECT_EQ(url_encode("dir/a b+c.gguf", true), "dir/a%20b%2Bc.gguf");
  EXPECT_EQ(url_origin("https://huggingface.co/api/models"), "https://huggingface.co");
  EXPECT_EQ(url_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  const HubClient client({"https://hf-mirror.com", "", ""});
  EXPECT_EQ(client.resolve_url("o/r", "main", "sub/x y.gguf"),
            "https://hf-mirror.com/o/r/resolve/main/sub/x%20y.gguf");
}

TEST(LocalModels, FindsSafetensorsAndGgufFoldersAndFlagsIncompleteOnes) {
  const fs::path root = fs::path(::testing::TempDir()) / "whale_local_models";
  fs::remove_all(root);
  const auto touch = [&](const std::string& path, const std::string& text) {
    fs::create_directories((root / path).parent_path());
    std::ofstream(root / path, std::ios::binary) << text;
  };
  touch("deepseek-ai/A/config.json", R"({"model_type": "deepseek_v3"})");
  touch("deepseek-ai/A/model.safetensors", std::string(1000, 'x'));
  touch("deepseek-ai/B/config.json", R"({"model_type": "deepseek_v2"})");
  touch(
      "deepseek-ai/B/model.safetensors.index.json",
      R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})");
  touch("deepseek-ai/B/model-00001-of-00002.safetensors", "x");
  touch("u/G/Q4/m-00001-of-00002.gguf", "x");
  touch("u/G/Q4/m-00002-of-00002.gguf.part", "x");
  touch("u/G/m-Q8_0.gguf", "xy");
  touch("notes/readme.txt", "not a model");
  touch(".hidden/m.gguf", "x");

  const auto models = list_local_models(root.string());
  ASSERT_EQ(models.size(), 4u);
  EXPECT_EQ(models[0].name, "deepseek-ai/A");
  EXPECT_EQ(models[0].format, "safetensors");
  EXPECT_EQ(models[0].model_type, "deepseek_v3");
  EXPECT_GT(models[0].bytes, 1000);
  EXPECT_FALSE(models[0].incomplete);
  EXPECT_EQ(models[1].name, "deepseek-ai/B");
  EXPECT_TRUE(models[1].incomplete);
  EXPECT_EQ(models[2].name, "u/G");
  EXPECT_EQ(models[2].format, "gguf");
  EXPECT_EQ(models[2].bytes, 2);
  EXPECT_FALSE(models[2].incomplete);
  EXPECT_EQ(models[3].name, "u/G/Q4");
  EXPECT_TRUE(models[3].incomplete);
  EXPECT_TRUE(list_local_models((root / "absent").string()).empty());
  fs::remove_all(root);
}

TEST(HubSettings, EndpointAndTokenComeFromTheEnvironment) {
  const fs::path token_file = fs::path(::testing::TempDir()) / "whale_hf_token";
  std::ofstream(token_file) << "  hf_from_file\n";
  ::setenv("HF_ENDPOINT", "https://hf-mirror.com/", 1);
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HUGGING_FACE_HUB_TOKEN");
  ::setenv("HF_TOKEN_PATH", token_file.c_str(), 1);
  HubSettings settings = HubSettings::from_environment();
  EXPECT_EQ(settings.endpoint, "https://hf-mirror.com");
  EXPECT_EQ(settings.token, "hf_from_file");
  EXPECT_EQ(settings.token_source, token_file.string());
  ::setenv("HF_TOKEN", "hf_env", 1);
  settings = HubSettings::from_environment();
  EXPECT_EQ(settings.token, "hf_env");
  EXPECT_EQ(settings.token_source, "HF_TOKEN");
  ::setenv("HF_ENDPOINT", "hf-mirror.com", 1);
  EXPECT_NE(error_of([] { HubSettings::from_environment(); }).find("HF_ENDPOINT"),
            std::string::npos);
  for (const char* name : {"HF_ENDPOINT", "HF_TOKEN", "HF_TOKEN_PATH"}) ::unsetenv(name);
  fs::remove(token_file);
}

}  // namespace
}  // namespace whale::hub
