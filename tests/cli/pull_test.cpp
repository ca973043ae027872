// `whale pull` and `whale list` end to end, against a fake hub on 127.0.0.1 (tests/cli/fake_hub).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "cli/fake_hub.h"
#include "util/digest.h"

namespace whale::test {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(generator() & 0xff);
  return bytes;
}

std::string quoted(const std::string& text) {
  std::string out(1, '\'');
  for (const char c : text) {
    if (c == '\'') {
      out.append("'\\''");  // close the quote, an escaped quote, reopen
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

// A loopback port nothing listens on: bound a moment ago, then released.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

struct WhaleRun {
  int exit_code = -1;
  std::string out, err;
};

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/whale_pull_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    hub_root_ = dir_ / "hub";
    models_ = dir_ / "models";

    // A safetensors checkpoint as DeepSeek publishes it, with files pull must leave alone.
    const fs::path v2 = hub_root_ / "deepseek-ai/Tiny-V2";
    write_bytes(v2 / "config.json", R"({"model_type": "deepseek_v2", "hidden_size": 16})");
    write_bytes(v2 / "model-00001-of-00002.safetensors", random_bytes(300000, 1));
    write_bytes(v2 / "model-00002-of-00002.safetensors", random_bytes(200000, 2));
    write_bytes(v2 / "model.safetensors.index.json",
                R"({"weight_map": {"a": "model-00001-of-00002.safetensors", )"
                R"("b": "model-00002-of-00002.safetensors"}})");
    write_bytes(v2 / "tokenizer.json", R"({"model": {"type": "BPE"}})");
    write_bytes(v2 / "tokenizer_config.json", R"({"add_bos_token": true})");
    write_bytes(v2 / "README.md", "# Tiny\n");
    write_bytes(v2 / "modeling_deepseek.py", "print('no')\n");
    write_bytes(v2 / "inference/configs/config_16B.json", "{}");

    // A GGUF repository with single files and a split quantisation in a subfolder.
    const fs::path gguf = hub_root_ / "unsloth/Tiny-GGUF";
    write_bytes(gguf / "Tiny-Q4_K_M.gguf", random_bytes(50000, 3));
    write_bytes(gguf / "Tiny-Q8_0.gguf", random_bytes(60000, 4));
    write_bytes(gguf / "Tiny-Q2_K/Tiny-Q2_K-00001-of-00002.gguf", random_bytes(40000, 5));
    write_bytes(gguf / "Tiny-Q2_K/Tiny-Q2_K-00002-of-00002.gguf", random_bytes(30000, 6));
    write_bytes(gguf / "README.md", "# GGUF\n");

    const fs::path gated = hub_root_ / "org/Gated";
    write_bytes(gated / "config.json", R"({"model_type": "deepseek_v3"})");
    write_bytes(gated / "model.safetensors", random_bytes(70000, 7));

    hub_ = std::make_unique<FakeHub>(hub_root_);
    hub_->gate("org/Gated", "hf_secret");
  }

  void TearDown() override {
    hub_.reset();  // stops the server before its files go
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs whale with a clean hub environment: no token from the user's account leaks in.
  WhaleRun whale(const std::string& args, const std::map<std::string, std::string>& env = {},
                 const std::string& endpoint = "") {
    std::map<std::string, std::string> vars = {
        {"HF_ENDPOINT", endpoint.empty() ? hub_->endpoint() : endpoint},
        {"HF_TOKEN_PATH", (dir_ / "no-token-file").string()},
        {"HF_HOME", (dir_ / "hf-home").string()},
        {"WHALE_MODELS", models_.string()}};
    for (const auto& [k, v] : env) vars[k] = v;
    std::string command =
        "env -u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN -u http_proxy -u https_proxy "
        "-u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy";
    for (const auto& [k, v] : vars) command += fmt::format(" {}={}", k, quoted(v));
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    command += fmt::format(" {} {} >{} 2>{} </dev/null", quoted(WHALE_BINARY), args,
                           quoted(out.string()), quoted(err.string()));
    const int status = std::system(command.c_str());
    WhaleRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.out = read_bytes(out);
    run.err = read_bytes(err);
    if (std::getenv("WHALE_TEST_VERBOSE") != nullptr)
      std::fprintf(stderr, "$ whale %s\n[exit %d]\n%s%s", args.c_str(), run.exit_code,
                   run.out.c_str(), run.err.c_str());
    return run;
  }

  // Every request to the "cdn" for `file`.
  std::vector<FakeHub::Request> downloads_of(const std::string& file) const {
    std::vector<FakeHub::Request> found;
    for (const auto& r : hub_->requests())
      if (r.server == "cdn" && r.target.find("/" + file + "?") != std::string::npos)
        found.push_back(r);
    return found;
  }

  void expect_same_file(const std::string& repo, const std::string& file) {
    const fs::path local = models_ / repo / file;
    ASSERT_TRUE(fs::exists(local)) << local;
    EXPECT_EQ(read_bytes(local), read_bytes(hub_root_ / repo / file)) << file;
  }

  fs::path dir_, hub_root_, models_;
  std::unique_ptr<FakeHub> hub_;
};

TEST_F(PullTest, FullRepoPullFetchesWeightsJsonAndTokenizerByteForByte) {
  hub_->set_page_size(3);  // the file list comes in pages linked by Link: rel="next"
  const WhaleRun run = whale("pull deepseek-ai/Tiny-V2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* file :
       {"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"})
    expect_same_file("deepseek-ai/Tiny-V2", file);
  const fs::path folder = models_ / "deepseek-ai/Tiny-V2";
  EXPECT_FALSE(fs::exists(folder / "README.md"));
  EXPECT_FALSE(fs::exists(folder / "modeling_deepseek.py"));
  EXPECT_FALSE(fs::exists(folder / "inference"));
  for (const auto& entry : fs::recursive_directory_iterator(models_))
    EXPECT_FALSE(entry.path().string().ends_with(".part")) << entry.path();
  EXPECT_EQ(run.out, folder.string() + "\n");
  // Weights came through the CDN redirect, pinned to the commit the revision resolved to.
  ASSERT_EQ(downloads_of("model-00001-of-00002.safetensors").size(), 1u);
  bool pinned = false;
  for (const auto& r : hub_->requests())
    pinned |= r.target.find(std::string("/resolve/") + FakeHub::kCommit + "/") != std::string::npos;
  EXPECT_TRUE(pinned);
}

TEST_F(PullTest, NamedFileAndGlobFetchOnlyWhatMatches) {
  WhaleRun run = whale("pull unsloth/Tiny-GGUF:Tiny-Q4_K_M.gguf");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("unsloth/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
  EXPECT_FALSE(fs::exists(models_ / "unsloth/Tiny-GGUF/Tiny-Q8_0.gguf"));
  EXPECT_EQ(run.out, (models_ / "unsloth/Tiny-GGUF/Tiny-Q4_K_M.gguf").string() + "\n");

  run = whale("pull 'unsloth/Tiny-GGUF:*Q2_K*.gguf'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("unsloth/Tiny-GGUF", "Tiny-Q2_K/Tiny-Q2_K-00001-of-00002.gguf");
  expect_same_file("unsloth/Tiny-GGUF", "Tiny-Q2_K/Tiny-Q2_K-00002-of-00002.gguf");
  EXPECT_FALSE(fs::exists(models_ / "unsloth/Tiny-GGUF/Tiny-Q8_0.gguf"));
  EXPECT_FALSE(fs::exists(models_ / "unsloth/Tiny-GGUF/README.md"));
}

TEST_F(PullTest, FirstPartOfASplitGgufBringsTheOtherParts) {
  const WhaleRun run = whale("pull unsloth/Tiny-GGUF:Tiny-Q2_K-00001-of-00002.gguf");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("unsloth/Tiny-GGUF", "Tiny-Q2_K/Tiny-Q2_K-00001-of-00002.gguf");
  expect_same_file("unsloth/Tiny-GGUF", "Tiny-Q2_K/Tiny-Q2_K-00002-of-00002.gguf");
}

TEST_F(PullTest, InterruptedDownloadResumesWithRangeOnTheNextRun) {
  const std::string shard = "model-00001-of-00002.safetensors";
  hub_->cut_next_download(shard, 100000);
  WhaleRun run = whale("pull deepseek-ai/Tiny-V2 --retries 0");
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("run the same command again to resume"), std::string::npos) << run.err;
  const fs::path part = models_ / "deepseek-ai/Tiny-V2" / (shard + ".part");
  ASSERT_TRUE(fs::exists(part));
  EXPECT_EQ(fs::file_size(part), 100000u);
  EXPECT_FALSE(fs::exists(models_ / "deepseek-ai/Tiny-V2" / shard));

  hub_->clear_requests();
  run = whale("pull deepseek-ai/Tiny-V2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto downloads = downloads_of(shard);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].header("range"), "bytes=100000-");
  expect_same_file("deepseek-ai/Tiny-V2", shard);
  EXPECT_EQ(sha256_hex(read_bytes(models_ / "deepseek-ai/Tiny-V2" / shard)),
            sha256_hex(read_bytes(hub_root_ / "deepseek-ai/Tiny-V2" / shard)));
  EXPECT_FALSE(fs::exists(part));
}

TEST_F(PullTest, BrokenConnectionIsResumedWithinTheSameRun) {
  const std::string shard = "model-00002-of-00002.safetensors";
  hub_->cut_next_download(shard, 12345);
  const WhaleRun run = whale("pull deepseek-ai/Tiny-V2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto downloads = downloads_of(shard);
  ASSERT_EQ(downloads.size(), 2u);
  EXPECT_EQ(downloads[0].header("range"), "");
  EXPECT_EQ(downloads[1].header("range"), "bytes=12345-");
  expect_same_file("deepseek-ai/Tiny-V2", shard);
  EXPECT_NE(run.err.find("resuming"), std::string::npos) << run.err;
}

TEST_F(PullTest, ServerIgnoringRangeStartsTheFileOver) {
  const std::string file = "Tiny-Q8_0.gguf";
  hub_->cut_next_download(file, 20000);
  ASSERT_EQ(whale("pull unsloth/Tiny-GGUF:" + file + " --retries 0").exit_code, 1);
  hub_->ignore_ranges(true);
  const WhaleRun run = whale("pull unsloth/Tiny-GGUF:" + file);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("unsloth/Tiny-GGUF", file);
}

TEST_F(PullTest, CorruptedDownloadIsRejectedAndDeleted) {
  hub_->corrupt("Tiny-Q4_K_M.gguf");
  const WhaleRun run = whale("pull unsloth/Tiny-GGUF:Tiny-Q4_K_M.gguf");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("sha256"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("Tiny-Q4_K_M.gguf"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(models_ / "unsloth/Tiny-GGUF/Tiny-Q4_K_M.gguf"));
  EXPECT_FALSE(fs::exists(models_ / "unsloth/Tiny-GGUF/Tiny-Q4_K_M.gguf.part"));
}

TEST_F(PullTest, PresentFilesAreSkippedAndAlteredOnesFetchedAgain) {
  ASSERT_EQ(whale("pull deepseek-ai/Tiny-V2").exit_code, 0);
  hub_->clear_requests();
  WhaleRun run = whale("pull deepseek-ai/Tiny-V2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("already present"), std::string::npos) << run.err;
  for (const auto& r : hub_->requests())
    EXPECT_EQ(r.target.find("/resolve/"), std::string::npos) << r.target;

  // Same size, different bytes: the sha256 check catches it.
  const fs::path shard = models_ / "deepseek-ai/Tiny-V2/model-00002-of-00002.safetensors";
  std::string bytes = read_bytes(shard);
  bytes[7] ^= 1;
  write_bytes(shard, bytes);
  write_bytes(models_ / "deepseek-ai/Tiny-V2/config.json", "{}");
  run = whale("pull deepseek-ai/Tiny-V2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("deepseek-ai/Tiny-V2", "model-00002-of-00002.safetensors");
  expect_same_file("deepseek-ai/Tiny-V2", "config.json");
}

TEST_F(PullTest, GatedRepoNeedsTheTokenWhichNeverReachesTheCdn) {
  WhaleRun run = whale("pull org/Gated");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("HF_TOKEN"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("org/Gated"), std::string::npos) << run.err;

  run = whale("pull org/Gated", {{"HF_TOKEN", "hf_wrong"}});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("no access"), std::string::npos) << run.err;

  hub_->clear_requests();
  run = whale("pull org/Gated", {{"HF_TOKEN", "hf_secret"}});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("org/Gated", "model.safetensors");
  int hub_requests = 0, cdn_requests = 0;
  for (const auto& r : hub_->requests()) {
    if (r.server == "hub") {
      ++hub_requests;
      EXPECT_EQ(r.header("authorization"), "Bearer hf_secret") << r.target;
    } else {
      ++cdn_requests;
      EXPECT_EQ(r.header("authorization"), "") << "token sent to the CDN: " << r.target;
    }
  }
  EXPECT_GT(hub_requests, 0);
  EXPECT_EQ(cdn_requests, 1);
}

TEST_F(PullTest, TokenIsReadFromTheTokenFile) {
  write_bytes(dir_ / "token", "hf_secret\n");
  const WhaleRun run = whale("pull org/Gated", {{"HF_TOKEN_PATH", (dir_ / "token").string()}});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_same_file("org/Gated", "model.safetensors");
}

TEST_F(PullTest, UnreachableHubGivesOneClearMessage) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
  const WhaleRun run = whale("pull deepseek-ai/Tiny-V2", {}, dead);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("cannot reach the hub at " + dead), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("HF_ENDPOINT"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_FALSE(fs::exists(models_ / "deepseek-ai"));
}

TEST_F(PullTest, MissingRepoOrFileIsNamed) {
  WhaleRun run = whale("pull nobody/Nothing");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("nobody/Nothing"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("not found"), std::string::npos) << run.err;

  run = whale("pull unsloth/Tiny-GGUF:Tiny-Q3_K.gguf");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("Tiny-Q3_K.gguf"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("Tiny-Q4_K_M.gguf"), std::string::npos)
      << "lists what exists: " << run.err;

  run = whale("pull deepseek-ai/Tiny-V2 --revision v9");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("revision 'v9' not found"), std::string::npos) << run.err;
}

TEST_F(PullTest, MalformedRepoArgumentIsAUsageError) {
  for (const char* bad : {"DeepSeek-V2-Lite", "a/b/c", "org/", "org/-name", "org/na..me",
                          "org/name:", "org/name:../x"}) {
    const WhaleRun run = whale(std::string("pull ") + quoted(bad));
    EXPECT_NE(run.exit_code, 0) << bad;
    EXPECT_NE(run.err.find("ORG/NAME"), std::string::npos) << bad << ": " << run.err;
  }
  EXPECT_TRUE(hub_->requests().empty());
}

TEST_F(PullTest, ListShowsPulledModelsWithSizeAndType) {
  WhaleRun run = whale("list");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.err.find("no models"), std::string::npos) << run.err;

  ASSERT_EQ(whale("pull deepseek-ai/Tiny-V2").exit_code, 0);
  ASSERT_EQ(whale("pull unsloth/Tiny-GGUF:Tiny-Q4_K_M.gguf").exit_code, 0);
  hub_->cut_next_download("Tiny-Q2_K-00002-of-00002.gguf", 10);
  EXPECT_EQ(whale("pull 'unsloth/Tiny-GGUF:*Q2_K*' --retries 0").exit_code, 1);

  const fs::path elsewhere = dir_ / "elsewhere";
  ASSERT_EQ(whale("pull org/Gated --models-dir " + quoted(elsewhere.string()),
                  {{"HF_TOKEN", "hf_secret"}})
                .exit_code,
            0);
  EXPECT_TRUE(fs::exists(elsewhere / "org/Gated/model.safetensors"));

  run = whale("list");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::map<std::string, std::string> rows;
  for (std::string line; std::getline(lines, line);) rows[line.substr(0, line.find(' '))] = line;
  ASSERT_EQ(rows.size(), 4u) << run.out;  // header + three folders
  EXPECT_NE(rows["deepseek-ai/Tiny-V2"].find("deepseek_v2"), std::string::npos) << run.out;
  EXPECT_NE(rows["deepseek-ai/Tiny-V2"].find("safetensors"), std::string::npos) << run.out;
  EXPECT_NE(rows["deepseek-ai/Tiny-V2"].find("KiB"), std::string::npos) << run.out;
  EXPECT_NE(rows["unsloth/Tiny-GGUF"].find("gguf"), std::string::npos) << run.out;
  EXPECT_NE(rows["unsloth/Tiny-GGUF/Tiny-Q2_K"].find("incomplete"), std::string::npos) << run.out;
  EXPECT_EQ(rows["unsloth/Tiny-GGUF"].find("incomplete"), std::string::npos) << run.out;

  run = whale("list --models-dir " + quoted(elsewhere.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("org/Gated"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("deepseek_v3"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace whale::test
