// `whale inspect FILE.gguf` on the built binary: the text listing stays short however long the
// vocabulary, --json is one object with the documented keys, a split model opens from its first
// part, and a bad file fails with one error naming it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "support/test_support.h"

namespace whale {
namespace {

using test::TempDir;

struct WhaleRun {
  int status = 0;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

WhaleRun whale(const std::string& args) {
  TempDir tmp;
  const std::string command = quote(WHALE_BINARY) + " " + args + " >" + quote(tmp.file("out")) +
                              " 2>" + quote(tmp.file("err"));
  const int rc = std::system(command.c_str());
  WhaleRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = test::read_bytes(tmp.file("out"));
  r.err = test::read_bytes(tmp.file("err"));
  return r;
}

const std::string kFile = std::string(WHALE_TEST_DATA) + "/golden-gguf/v2-lite-tiny.bf16.gguf";

TEST(InspectGguf, TextListsEveryKeyAndSummarisesLongArrays) {
  const GgufModel model(kFile);
  const WhaleRun r = whale("inspect " + quote(kFile));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("GGUF version 3, alignment 32"), std::string::npos) << r.out;
  for (const auto& kv : model.metadata().entries())
    EXPECT_NE(r.out.find(std::string(kv.key)), std::string::npos) << kv.key;
  EXPECT_NE(r.out.find("array<string>  [600]"), std::string::npos) << r.out;
  const auto& tokens = model.metadata().get_string_array("tokenizer.ggml.tokens");
  EXPECT_EQ(r.out.find(std::string(tokens.back())), std::string::npos) << "vocabulary flooded";
  EXPECT_LT(std::count(r.out.begin(), r.out.end(), '\n'), 70);
  EXPECT_NE(r.out.find("deepseek2.block_count"), std::string::npos);
  EXPECT_NE(r.out.find(fmt::format("tensors       {},", model.tensors().size())),
            std::string::npos);
  EXPECT_NE(r.out.find("BF16        32 tensors"), std::string::npos) << r.out;
}

TEST(InspectGguf, JsonHasFormatMetadataTensorsAndTypeTotals) {
  const GgufModel model(kFile);
  const WhaleRun r = whale("inspect " + quote(kFile) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["alignment"], 32);
  EXPECT_EQ(j["metadata"].size(), model.metadata().size());
  EXPECT_EQ(j["metadata"]["general.architecture"], "deepseek2");
  EXPECT_EQ(j["metadata"]["deepseek2.block_count"], 3);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.add_bos_token"], true);
  EXPECT_FLOAT_EQ(j["metadata"]["deepseek2.attention.layer_norm_rms_epsilon"].get<float>(),
                  model.metadata().get_f32("deepseek2.attention.layer_norm_rms_epsilon"));
  const auto& tokens = j["metadata"]["tokenizer.ggml.tokens"];
  EXPECT_EQ(tokens["type"], "array<string>");
  EXPECT_EQ(tokens["length"], 600);
  ASSERT_EQ(tokens["head"].size(), 8u);
  EXPECT_EQ(tokens["head"][0],
            std::string(model.metadata().get_string_array("tokenizer.ggml.tokens")[0]));
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.token_type"]["type"], "array<i32>");

  ASSERT_EQ(j["tensors"].size(), model.tensors().size());
  std::map<std::string, std::pair<int, std::uint64_t>> totals;
  for (std::size_t i = 0; i < model.tensors().size(); ++i) {
    const GgufTensor& t = model.tensors()[i];
    const auto& e = j["tensors"][i];
    EXPECT_EQ(e["name"], std::string(t.name));
    EXPECT_EQ(e["type"], std::string(dtype_name(t.dtype)));
    EXPECT_EQ(e["shape"].get<std::vector<std::int64_t>>(),
              std::vector<std::int64_t>(t.dims().begin(), t.dims().end()));
    EXPECT_EQ(e["offset"], t.offset);
    EXPECT_EQ(e["bytes"], t.byte_size());
    auto& total = totals[std::string(dtype_name(t.dtype))];
    ++total.first;
    total.second += t.byte_size();
  }
  const auto kb = std::find_if(j["tensors"].begin(), j["tensors"].end(),
                               [](const auto& e) { return e["name"] == "blk.0.attn_k_b.weight"; });
  ASSERT_NE(kb, j["tensors"].end());
  EXPECT_EQ((*kb)["shape"], nlohmann::json::array({32, 96, 4}));
  EXPECT_EQ(j["tensor_types"].size(), totals.size());
  for (const auto& [type, total] : totals) {
    EXPECT_EQ(j["tensor_types"][type]["tensors"], total.first) << type;
    EXPECT_EQ(j["tensor_types"][type]["bytes"], total.second) << type;
  }
}

TEST(InspectGguf, SplitModelOpensFromItsFirstPart) {
  TempDir dir;
  const GgufModel source(kFile);
  std::vector<std::string> parts;
  {
    GgufWriter w(dir.file("m.gguf"), {.max_tensors_per_part = 20});
    for (const auto& [key, value] : source.metadata().entries()) w.set(key, value);
    for (const GgufTensor& t : source.tensors())
      w.add_tensor(std::string(t.name), t.dtype, {t.dims().begin(), t.dims().end()});
    for (const GgufTensor& t : source.tensors()) w.write_tensor_data(t.data);
    parts = w.finish();
  }
  ASSERT_EQ(parts.size(), 3u);
  const WhaleRun r = whale("inspect " + quote(parts[0]) + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parts"], 3);
  EXPECT_EQ(j["tensors"].size(), source.tensors().size());
  EXPECT_EQ(j["metadata"]["split.count"], 3);
  EXPECT_EQ(j["tensors"].back()["part"], 2);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["length"], 600);

  const WhaleRun later = whale("inspect " + quote(parts[1]));
  EXPECT_EQ(later.status, 1);
  EXPECT_NE(later.err.find("open the first part"), std::string::npos) << later.err;
}

TEST(InspectGguf, BadFileFailsWithOneErrorNamingIt) {
  TempDir dir;
  const std::string bytes = test::read_bytes(kFile);
  test::write_bytes(dir.file("cut.gguf"), bytes.substr(0, bytes.size() / 2));
  const WhaleRun r = whale("inspect " + quote(dir.file("cut.gguf")));
  EXPECT_NE(r.status, 0);
  EXPECT_LT(r.status, 128) << r.err;
  EXPECT_NE(r.err.find(dir.file("cut.gguf")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("past the end of the data section"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("AddressSanitizer"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("runtime error"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace whale
