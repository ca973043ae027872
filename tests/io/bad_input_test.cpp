// Bad checkpoints, each made from a golden fixture by editing one thing, must fail to load with
// one clear whale::Error that names the file and the tensor or field at fault.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/checkpoint.h"
#include "io/deepseek_config.h"
#include "model/deepseek.h"
#include "support/test_support.h"

namespace whale {
namespace {

using test::SafetensorsImage;
using test::TempDir;

// A copy of a golden folder that a test edits; load() opens it as the model would.
class BadCheckpoint : public ::testing::Test {
 protected:
  void use(const std::string& golden) { test::copy_golden(golden, dir_); }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string folder() const { return dir_.str(); }
  void load() const { DeepSeekModel model(dir_.str()); }

  // Edits the JSON header of one safetensors file, keeping its data area.
  void edit_header(const std::string& name, const std::function<void(SafetensorsImage&)>& edit) {
    SafetensorsImage image = SafetensorsImage::read(file(name));
    edit(image);
    image.write(file(name));
  }
  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json config = test::read_json(file("config.json"));
    edit(config);
    test::write_json(file("config.json"), config);
  }
  void edit_index(const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json index = test::read_json(file("model.safetensors.index.json"));
    edit(index);
    test::write_json(file("model.safetensors.index.json"), index);
  }
  // The shard of a sharded golden copy that holds `tensor`.
  std::string shard_of(const std::string& tensor) const {
    return test::read_json(file("model.safetensors.index.json"))["weight_map"][tensor];
  }

 private:
  TempDir dir_;
};

constexpr const char* kSingle = "model.safetensors";
constexpr const char* kQProj = "model.layers.0.self_attn.q_proj.weight";  // BF16 [192, 128]
constexpr const char* kNorm1 = "model.layers.1.input_layernorm.weight";   // BF16 [128]
constexpr const char* kNorm2 = "model.layers.2.input_layernorm.weight";   // BF16 [128]

TEST_F(BadCheckpoint, GoldenCopyLoads) {
  use("v2-lite-tiny");
  EXPECT_NO_THROW(load());
}

// --- safetensors files ---------------------------------------------------------------------

TEST_F(BadCheckpoint, FileShorterThanTheLengthPrefix) {
  use("v2-lite-tiny");
  test::write_bytes(file(kSingle), std::string("\x10\x00\x00", 3));
  EXPECT_WHALE_ERROR(load(), file(kSingle), "truncated", "3 bytes");
}

TEST_F(BadCheckpoint, DataCutShort) {
  use("v2-lite-tiny");
  const std::string bytes = test::read_bytes(file(kSingle));
  test::write_bytes(file(kSingle), bytes.substr(0, bytes.size() - 100));
  // model.norm.weight is the last tensor in the file.
  EXPECT_WHALE_ERROR(load(), file(kSingle), "model.norm.weight", "past the data area");
}

TEST_F(BadCheckpoint, HeaderLengthPastTheEndOfTheFile) {
  use("v2-lite-tiny");
  std::string bytes = test::read_bytes(file(kSingle));
  const std::uint64_t n = bytes.size();
  std::memcpy(bytes.data(), &n, 8);
  test::write_bytes(file(kSingle), bytes);
  EXPECT_WHALE_ERROR(load(), file(kSingle), "header length", "past the end of the file");
}

TEST_F(BadCheckpoint, OverlappingOffsets) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) {
    i.header[kNorm2]["data_offsets"] = i.header[kNorm1]["data_offsets"];
  });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kNorm1, kNorm2, "overlap");
}

TEST_F(BadCheckpoint, OffsetsOutOfRange) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) {
    const std::size_t end = i.data.size();
    i.header[kNorm1]["data_offsets"] = {end - 128, end + 128};
  });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kNorm1, "past the data area");
}

TEST_F(BadCheckpoint, OffsetsEndBeforeBegin) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) { i.header[kNorm1]["data_offsets"] = {256, 0}; });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kNorm1, "end before begin");
}

TEST_F(BadCheckpoint, SizeNotMatchingDtypeTimesShape) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) { i.header[kNorm1]["shape"] = {127}; });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kNorm1, "256 bytes", "needs 254 bytes");
}

TEST_F(BadCheckpoint, UnknownDtype) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) { i.header[kNorm1]["dtype"] = "F4_E2M1"; });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kNorm1, "unsupported dtype 'F4_E2M1'");
}

TEST_F(BadCheckpoint, MalformedJsonHeader) {
  use("v2-lite-tiny");
  std::string bytes = test::read_bytes(file(kSingle));
  bytes[8] = 'x';  // the header's opening brace
  test::write_bytes(file(kSingle), bytes);
  EXPECT_WHALE_ERROR(load(), file(kSingle), "safetensors header", "malformed JSON");
}

TEST_F(BadCheckpoint, NonUtf8Header) {
  use("v2-lite-tiny");
  std::string bytes = test::read_bytes(file(kSingle));
  const std::size_t name = bytes.find("model.norm.weight");
  ASSERT_NE(name, std::string::npos);
  bytes[name + 6] = '\xff';  // same length: the header stays well-formed but for the encoding
  test::write_bytes(file(kSingle), bytes);
  EXPECT_WHALE_ERROR(load(), file(kSingle), "malformed JSON", "UTF-8");
}

// --- config.json ---------------------------------------------------------------------------

TEST_F(BadCheckpoint, MalformedConfigJson) {
  use("v2-lite-tiny");
  const std::string text = test::read_bytes(file("config.json"));
  test::write_bytes(file("config.json"), text.substr(0, text.size() / 2));
  EXPECT_WHALE_ERROR(load(), file("config.json"), "malformed JSON");
}

TEST_F(BadCheckpoint, NonUtf8ConfigJson) {
  use("v2-lite-tiny");
  std::string text = test::read_bytes(file("config.json"));
  const std::size_t at = text.find("silu");
  ASSERT_NE(at, std::string::npos);
  text[at + 1] = '\xc3';  // a lead byte followed by 'l': ill-formed
  test::write_bytes(file("config.json"), text);
  EXPECT_WHALE_ERROR(load(), file("config.json"), "malformed JSON", "UTF-8");
}

TEST_F(BadCheckpoint, MissingConfigJson) {
  use("v2-lite-tiny");
  std::filesystem::remove(file("config.json"));
  EXPECT_WHALE_ERROR(load(), folder(), "config.json");
}

TEST_F(BadCheckpoint, UnknownModelType) {
  use("v2-lite-tiny");
  edit_config([](auto& c) { c["model_type"] = "deepseek_v4"; });
  EXPECT_WHALE_ERROR(load(), file("config.json"), "model_type", "'deepseek_v4'");
}

TEST_F(BadCheckpoint, UnknownRopeScalingType) {
  use("v2-lite-tiny");
  edit_config([](auto& c) { c["rope_scaling"]["type"] = "dynamic"; });
  EXPECT_WHALE_ERROR(load(), file("config.json"), "rope_scaling.type", "'dynamic'");
}

TEST_F(BadCheckpoint, UnknownTopkMethod) {
  use("v2-lite-tiny");
  edit_config([](auto& c) { c["topk_method"] = "top1"; });
  EXPECT_WHALE_ERROR(load(), file("config.json"), "topk_method", "'top1'");
}

TEST_F(BadCheckpoint, UnknownScoringFunc) {
  use("v2-lite-tiny");
  edit_config([](auto& c) { c["scoring_func"] = "relu"; });
  EXPECT_WHALE_ERROR(load(), file("config.json"), "scoring_func", "'relu'");
}

TEST_F(BadCheckpoint, WrongFieldTypesInConfig) {
  use("v2-lite-tiny");
  const std::string path = file("config.json");
  const nlohmann::json good = test::read_json(path);
  const auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json c = good;
    edit(c);
    test::write_json(path, c);
  };
  with([](auto& c) { c["hidden_size"] = "128"; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'hidden_size'", "an integer", "\"128\"");
  with([](auto& c) { c["num_hidden_layers"] = 2.5; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'num_hidden_layers'", "an integer");
  with([](auto& c) { c["norm_topk_prob"] = 1; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'norm_topk_prob'", "true or false");
  with([](auto& c) { c["rms_norm_eps"] = "1e-6"; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'rms_norm_eps'", "a number");
  with([](auto& c) { c["model_type"] = 2; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'model_type'", "a string");
  with([](auto& c) { c["rope_scaling"] = 40; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'rope_scaling'", "an object or null");
  with([](auto& c) { c["rope_scaling"]["factor"] = "40"; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'rope_scaling.factor'", "a number");
  with([](auto& c) { c["architectures"] = "DeepseekV2ForCausalLM"; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'architectures'", "an array of strings");
  with([](auto& c) { c["n_routed_experts"] = -16; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'n_routed_experts'", "at least 1");
  with([](auto& c) { c["vocab_size"] = 18446744073709551615ull; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'vocab_size'", "at most");
  with([](auto& c) { c["kv_lora_rank"] = nullptr; });
  EXPECT_WHALE_ERROR(load_deepseek_config(path), path, "'kv_lora_rank'", "an integer", "null");
  // And through the model loader, which reads the same file.
  with([](auto& c) { c["vocab_size"] = nlohmann::json::array({600}); });
  EXPECT_WHALE_ERROR(load(), path, "'vocab_size'");
}

// --- the index of a sharded folder ---------------------------------------------------------

TEST_F(BadCheckpoint, IndexNamesAMissingShard) {
  use("v2-tiny");
  const std::string tensor = "model.norm.weight";
  edit_index([&](auto& i) { i["weight_map"][tensor] = "model-00003-of-00003.safetensors"; });
  EXPECT_WHALE_ERROR(load(), file("model.safetensors.index.json"),
                     "model-00003-of-00003.safetensors", tensor, "does not exist");
}

TEST_F(BadCheckpoint, IndexNamesAShardOutsideTheFolder) {
  use("v2-tiny");
  edit_index([](auto& i) { i["weight_map"]["model.norm.weight"] = "../model.safetensors"; });
  EXPECT_WHALE_ERROR(load(), file("model.safetensors.index.json"), "model.norm.weight",
                     "inside the folder");
}

TEST_F(BadCheckpoint, IndexNamesATensorAbsentFromItsShard) {
  use("v2-tiny");
  const std::string tensor = "model.norm.weight";
  const std::string other = shard_of(tensor) == "model-00001-of-00002.safetensors"
                                ? "model-00002-of-00002.safetensors"
                                : "model-00001-of-00002.safetensors";
  edit_index([&](auto& i) { i["weight_map"][tensor] = other; });
  EXPECT_WHALE_ERROR(load(), file(other), tensor, "missing from the shard");
}

TEST_F(BadCheckpoint, IndexWithoutWeightMap) {
  use("v2-tiny");
  edit_index([](auto& i) { i.erase("weight_map"); });
  EXPECT_WHALE_ERROR(load(), file("model.safetensors.index.json"), "'weight_map'");
}

// --- tensors against the config ------------------------------------------------------------

TEST_F(BadCheckpoint, MissingTensor) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) { i.header.erase(kQProj); });
  EXPECT_WHALE_ERROR(load(), folder(), kQProj, "missing", "[192, 128]");
}

TEST_F(BadCheckpoint, UnexpectedTensor) {
  use("v2-lite-tiny");
  const std::string extra = "model.layers.1.self_attn.q_norm.weight";
  edit_header(kSingle,
              [&](SafetensorsImage& i) { i.add(extra, "BF16", {128}, std::string(256, '\0')); });
  EXPECT_WHALE_ERROR(load(), file(kSingle), extra, "unexpected tensor");
}

TEST_F(BadCheckpoint, TensorOfALayerBeyondTheModel) {
  use("v2-lite-tiny");  // no MTP layers in V2: layer 3 does not exist
  const std::string extra = "model.layers.3.input_layernorm.weight";
  edit_header(kSingle,
              [&](SafetensorsImage& i) { i.add(extra, "BF16", {128}, std::string(256, '\0')); });
  EXPECT_WHALE_ERROR(load(), file(kSingle), extra, "unexpected tensor", "3 layers");
}

TEST_F(BadCheckpoint, WrongShape) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) { i.header[kQProj]["shape"] = {128, 192}; });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kQProj, "[128, 192]", "expected [192, 128]");
}

TEST_F(BadCheckpoint, IntegerWeight) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) {
    i.header.erase(kQProj);
    i.add(kQProj, "I32", {192, 128}, std::string(192 * 128 * 4, '\0'));
  });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kQProj, "I32", "expected F32, BF16, F16, F8_E4M3 or a GGML block format");
}

TEST_F(BadCheckpoint, IntegerNormWeight) {
  use("v2-lite-tiny");
  edit_header(kSingle, [](SafetensorsImage& i) {
    i.header.erase(kNorm1);
    i.add(kNorm1, "I64", {128}, std::string(128 * 8, '\0'));
  });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kNorm1, "I64");
}

TEST_F(BadCheckpoint, BlockScaleBesideABf16Weight) {
  use("v2-lite-tiny");
  const std::string scale = std::string(kQProj) + "_scale_inv";
  edit_header(kSingle, [&](SafetensorsImage& i) {
    i.add(scale, "F32", {2, 1}, std::string(8, '\0'));
  });
  EXPECT_WHALE_ERROR(load(), file(kSingle), kQProj, scale, "BF16");
}

TEST_F(BadCheckpoint, Fp8WeightWithoutScale) {
  use("v3-tiny-fp8");
  const std::string weight = "model.layers.1.self_attn.q_b_proj.weight";
  const std::string scale = weight + "_scale_inv";
  const std::string shard = shard_of(scale);
  edit_header(shard, [&](SafetensorsImage& i) { i.header.erase(scale); });
  edit_index([&](auto& i) { i["weight_map"].erase(scale); });
  EXPECT_WHALE_ERROR(load(), weight, scale, "FP8");
}

TEST_F(BadCheckpoint, Fp8ScaleOfTheWrongShape) {
  use("v3-tiny-fp8");
  const std::string weight = "model.layers.1.self_attn.q_b_proj.weight";  // [192, 160]
  const std::string scale = weight + "_scale_inv";                        // [2, 2]
  const std::string shard = shard_of(scale);
  edit_header(shard, [&](SafetensorsImage& i) { i.header[scale]["shape"] = {4, 1}; });
  EXPECT_WHALE_ERROR(load(), file(shard), scale, "[4, 1]", "expected [2, 2]");
}

TEST_F(BadCheckpoint, Fp8ScaleStoredAsBf16) {
  use("v3-tiny-fp8");
  const std::string scale = "model.layers.1.self_attn.q_b_proj.weight_scale_inv";  // F32 [2, 2]
  const std::string shard = shard_of(scale);
  edit_header(shard, [&](SafetensorsImage& i) {
    i.header[scale]["shape"] = {2, 4};
    i.header[scale]["dtype"] = "BF16";
  });
  EXPECT_WHALE_ERROR(load(), file(shard), scale, "BF16", "F32 block scales");
}

TEST_F(BadCheckpoint, Fp8BlockSizeFromConfigChangesTheExpectedScaleShape) {
  use("v3-tiny-fp8");
  edit_config([](auto& c) { c["quantization_config"]["weight_block_size"] = {64, 64}; });
  EXPECT_WHALE_ERROR(load(), "_scale_inv", "expected [");
}

TEST_F(BadCheckpoint, ConfigSizesThatDoNotMatchTheTensors) {
  use("v3-tiny-bf16");
  edit_config([](auto& c) { c["kv_lora_rank"] = 64; });
  EXPECT_WHALE_ERROR(load(), "model.layers.0.self_attn.kv_a_proj_with_mqa.weight", "[112, 128]",
                     "expected [80, 128]");
}

TEST_F(BadCheckpoint, QProjPresentButConfigSetsQLora) {
  use("v2-lite-tiny");
  edit_config([](auto& c) { c["q_lora_rank"] = 160; });
  EXPECT_WHALE_ERROR(load(), folder(), "q_proj.weight", "q_lora_rank 160");
}

TEST_F(BadCheckpoint, MissingModelFolder) {
  EXPECT_WHALE_ERROR(Checkpoint(folder() + "/nothing-here"), "nothing-here", "no such directory");
}

TEST_F(BadCheckpoint, FolderWithoutWeights) {
  use("v2-lite-tiny");
  std::filesystem::remove(file(kSingle));
  EXPECT_WHALE_ERROR(load(), folder(), "no model.safetensors");
}

}  // namespace
}  // namespace whale
