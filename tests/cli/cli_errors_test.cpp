// The built `whale` binary on bad command lines: a non-zero exit and one error line naming the
// argument at fault, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace whale {
namespace {

using test::TempDir;

struct WhaleRun {
  int status = 0;  // exit code, or 128 + signal
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs the binary with `args` through the shell; `prefix` goes before it (e.g. a ulimit).
WhaleRun whale(const std::string& args, const std::string& prefix = "") {
  TempDir tmp;
  const std::string command = prefix + quote(WHALE_BINARY) + " " + args + " >" +
                              quote(tmp.file("out")) + " 2>" + quote(tmp.file("err"));
  const int rc = std::system(command.c_str());
  WhaleRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = test::read_bytes(tmp.file("out"));
  r.err = test::read_bytes(tmp.file("err"));
  return r;
}

// A failed run: non-zero exit from an error (not a signal), and a message holding every part.
void expect_failure(const WhaleRun& r, std::initializer_list<std::string> parts) {
  EXPECT_NE(r.status, 0) << r.err;
  EXPECT_LT(r.status, 128) << "killed by a signal: " << r.err;
  for (const auto& part : parts)
    EXPECT_NE(r.err.find(part), std::string::npos) << "stderr lacks '" << part << "': " << r.err;
  EXPECT_EQ(r.err.find("AddressSanitizer"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("runtime error"), std::string::npos) << r.err;
}

const std::string kModel = quote(test::golden_folder("v2-lite-tiny"));

TEST(Cli, GenerateReproducesTheGoldenGreedyTokens) {
  const auto cases = test::read_json(test::golden_folder("v2-lite-tiny") + "/cases.json");
  const auto& c = cases[0];
  const auto ids = c["ids"].get<std::vector<int>>();
  std::string prompt, want;
  const auto join = [](std::string& list, int id) {
    if (!list.empty()) list += ',';
    list += std::to_string(id);
  };
  for (std::int64_t i = 0; i < c["greedy_prompt_len"].get<std::int64_t>(); ++i)
    join(prompt, ids[i]);
  for (int g : c["greedy"]) join(want, g);
  const WhaleRun r = whale("generate " + kModel + " --ids " + prompt + " -n " +
                           std::to_string(c["greedy"].size()) + " --temperature 0 -t 2");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, want + "\n");
}

TEST(Cli, IdsOutsideTheVocabulary) {
  TempDir tmp;
  expect_failure(whale("logits " + kModel + " --ids 5,600 --out " + quote(tmp.file("l.f32"))),
                 {"whale: error:", "--ids", "600", "vocabulary [0, 600)"});
  expect_failure(whale("generate " + kModel + " --ids 2147483647 -n 1"),
                 {"--ids", "2147483647", "vocabulary"});
}

TEST(Cli, PromptLongerThanTheContext) {
  TempDir model;
  test::copy_golden("v2-lite-tiny", model);
  nlohmann::json config = test::read_json(model.file("config.json"));
  config["max_position_embeddings"] = 8;
  test::write_json(model.file("config.json"), config);
  expect_failure(whale("generate " + quote(model.str()) + " --ids 1,2,3,4,5 -n 4"),
                 {"--ids/-n", "5 prompt ids + 4 new tokens", "context of 8 tokens"});
  expect_failure(whale("generate " + quote(model.str()) + " --ids 1,2,3,4,5,6,7,8,9 -n 0"),
                 {"--ids/-n", "context of 8 tokens"});
  // A -n so large that prompt + n overflows int64 is still just too long.
  expect_failure(whale("generate " + quote(model.str()) + " --ids 1 -n 9223372036854775807"),
                 {"--ids/-n", "context of 8 tokens"});
  TempDir out;
  expect_failure(whale("logits " + quote(model.str()) + " --ids 1,2,3,4,5,6,7,8,9 --out " +
                       quote(out.file("l.f32"))),
                 {"--ids", "9 ids exceed", "context of 8 tokens"});
  // Exactly the context is fine.
  const WhaleRun ok = whale("generate " + quote(model.str()) + " --ids 1,2,3,4,5 -n 3");
  EXPECT_EQ(ok.status, 0) << ok.err;
}

TEST(Cli, MalformedIds) {
  const std::vector<std::string> bad = {"1,,2", "1,x", "-3",   "99999999999",
                                        "1;2",  "1,",  "0x10", ""};
  for (const std::string& ids : bad) {
    SCOPED_TRACE(ids);
    expect_failure(whale("generate " + kModel + " --ids " + quote(ids) + " -n 1"), {"--ids"});
  }
  TempDir tmp;
  expect_failure(whale("logits " + kModel + " --ids 1,x --out " + quote(tmp.file("l.f32"))),
                 {"--ids", "'x' is not a token id"});
}

TEST(Cli, MissingModelFolder) {
  TempDir tmp;
  const std::string missing = tmp.file("no-such-model");
  expect_failure(whale("generate " + quote(missing) + " --ids 1 -n 1"),
                 {missing, "not a model folder"});
  expect_failure(whale("logits " + quote(missing) + " --ids 1 --out " + quote(tmp.file("l.f32"))),
                 {missing, "not a model folder"});
  expect_failure(whale("inspect " + quote(missing)), {missing});
}

TEST(Cli, PrefillOutOfRange) {
  TempDir tmp;
  const std::string out = " --out " + quote(tmp.file("l.f32"));
  expect_failure(whale("logits " + kModel + " --ids 1,2,3 --prefill 0" + out),
                 {"--prefill", "0 is outside [1, 3]"});
  expect_failure(whale("logits " + kModel + " --ids 1,2,3 --prefill 4" + out),
                 {"--prefill", "4 is outside [1, 3]"});
  expect_failure(whale("logits " + kModel + " --ids 1,2,3 --prefill -2" + out),
                 {"--prefill", "-2 is outside [1, 3]"});
  const WhaleRun ok = whale("logits " + kModel + " --ids 1,2,3 --prefill 2" + out);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(test::read_bytes(tmp.file("l.f32")).size(), 3u * 600u * 4u);
}

TEST(Cli, OutputThatCannotBeWritten) {
  TempDir tmp;
  expect_failure(
      whale("logits " + kModel + " --ids 1 --out " + quote(tmp.file("no/such/dir/l.f32"))),
      {"--out", "cannot write"});
}

TEST(Cli, InspectContextOutOfRange) {
  expect_failure(whale("inspect " + kModel + " --ctx 0"), {"--ctx"});
  expect_failure(whale("inspect " + kModel + " --ctx 9223372036854775807"), {"--ctx"});
  const WhaleRun ok = whale("inspect " + kModel + " --ctx 4096 --json");
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["vocab_size"], 600);
}

TEST(Cli, BadCheckpointIsReportedNotCrashed) {
  TempDir model;
  test::copy_golden("v2-lite-tiny", model);
  test::write_bytes(model.file("model.safetensors"), "\x01\x02\x03");
  expect_failure(whale("generate " + quote(model.str()) + " --ids 1 -n 1"),
                 {model.file("model.safetensors"), "truncated"});
}

TEST(Cli, MoreThreadsThanTheSystemAllowsIsAnError) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer needs more address space than the limit below allows";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "AddressSanitizer needs more address space than the limit below allows";
#endif
#endif
  // 2 GB of address space holds a few hundred 8 MB thread stacks, not 5000. A half-built
  // pool used to destroy joinable threads, which terminates the process.
  expect_failure(whale("generate " + kModel + " --ids 1 -n 1 -t 5000", "ulimit -v 2000000; "),
                 {"whale: error:", "cannot start 5000 threads"});
}

}  // namespace
}  // namespace whale
