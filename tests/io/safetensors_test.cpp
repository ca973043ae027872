// parse_safetensors on in-memory images, SafetensorsFile and Checkpoint on the golden folders.
// Bad files built from the golden fixtures are in bad_input_test.cpp.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "io/checkpoint.h"
#include "support/test_support.h"

namespace whale {
namespace {

using test::SafetensorsImage;

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string f32_bytes(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

SafetensorsImage three_tensor_image() {
  SafetensorsImage image;
  image.header["__metadata__"] = {{"format", "pt"}};
  image.add("a.weight", "F32", {2, 2}, f32_bytes({1, 2, 3, 4}));
  image.add("b.weight", "BF16", {3}, std::string("\x80\x3f\x00\x40\x40\x40", 6));
  image.add("c.weight", "F8_E4M3", {1, 5}, std::string("\x38\x40\x48\x7e\xfe", 5));
  return image;
}

TEST(Safetensors, ParsesDtypesShapesAndViewsIntoTheBuffer) {
  const std::string bytes = three_tensor_image().bytes();
  const SafetensorsHeader h = parse_safetensors(as_bytes(bytes), "mem");
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  const TensorInfo& a = h.tensors.at("a.weight");
  EXPECT_EQ(a.dtype, DType::kF32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(a.numel(), 4);
  EXPECT_EQ(a.shape_string(), "[2, 2]");
  EXPECT_EQ(a.file, "mem");
  ASSERT_EQ(a.data.size(), 16u);
  float first;
  std::memcpy(&first, a.data.data(), 4);
  EXPECT_EQ(first, 1.0f);
  const TensorInfo& b = h.tensors.at("b.weight");
  EXPECT_EQ(b.dtype, DType::kBF16);
  EXPECT_EQ(b.data.size(), 6u);
  EXPECT_EQ(b.data.data(), a.data.data() + 16);  // a view, not a copy
  const TensorInfo& c = h.tensors.at("c.weight");
  EXPECT_EQ(c.dtype, DType::kF8E4M3);
  EXPECT_EQ(c.data.size(), 5u);
  EXPECT_EQ(c.data[3], 0x7e);
}

TEST(Safetensors, AcceptsAHeaderWithoutMetadata) {
  SafetensorsImage image = three_tensor_image();
  image.header.erase("__metadata__");
  const std::string bytes = image.bytes();
  const SafetensorsHeader h = parse_safetensors(as_bytes(bytes), "mem");
  EXPECT_TRUE(h.metadata.empty());
  EXPECT_EQ(h.tensors.size(), 3u);
}

TEST(Safetensors, AcceptsAnEmptyHeaderScalarsAndEmptyTensors) {
  SafetensorsImage empty;
  empty.header = nlohmann::json::object();
  const std::string empty_bytes = empty.bytes();
  EXPECT_TRUE(parse_safetensors(as_bytes(empty_bytes), "mem").tensors.empty());

  SafetensorsImage image;
  image.add("scalar", "F32", {}, f32_bytes({2.5f}));
  image.add("none", "BF16", {0, 7}, "");
  image.add("none_too", "F32", {3, 0}, "");  // zero-length ranges may share an offset
  image.add("after", "I64", {1}, std::string(8, '\x01'));
  const std::string bytes = image.bytes();
  const SafetensorsHeader h = parse_safetensors(as_bytes(bytes), "mem");
  EXPECT_EQ(h.tensors.at("scalar").numel(), 1);
  EXPECT_EQ(h.tensors.at("scalar").shape_string(), "[]");
  EXPECT_EQ(h.tensors.at("none").numel(), 0);
  EXPECT_TRUE(h.tensors.at("none").data.empty());
  EXPECT_EQ(h.tensors.at("after").dtype, DType::kI64);
}

TEST(Safetensors, AcceptsTensorsStoredOutOfOrderWithGaps) {
  SafetensorsImage image;
  image.data = std::string(64, '\0');
  image.header["late"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {40, 48}}};
  image.header["early"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}};
  const std::string bytes = image.bytes();
  EXPECT_EQ(parse_safetensors(as_bytes(bytes), "mem").tensors.size(), 2u);
}

TEST(Safetensors, RejectsStructuralErrorsNamingTheTensor) {
  const auto bad = [](const std::function<void(SafetensorsImage&)>& edit,
                      std::initializer_list<std::string> parts) {
    SafetensorsImage image = three_tensor_image();
    edit(image);
    const std::string bytes = image.bytes();
    test::expect_whale_error([&] { parse_safetensors(as_bytes(bytes), "mem.safetensors"); }, parts);
  };
  bad(
      [](auto& i) {
        i.header["a.weight"]["shape"] = {2, -2};
      },
      {"mem.safetensors", "a.weight", "non-negative"});
  bad([](auto& i) { i.header["a.weight"]["shape"] = {2, 2.0}; }, {"a.weight", "shape"});
  bad([](auto& i) { i.header["a.weight"]["shape"] = "2x2"; }, {"a.weight", "'shape'"});
  bad([](auto& i) { i.header["a.weight"].erase("dtype"); }, {"a.weight", "'dtype'"});
  bad([](auto& i) { i.header["a.weight"]["dtype"] = 32; }, {"a.weight", "'dtype'"});
  bad([](auto& i) { i.header["a.weight"]["dtype"] = "f32"; }, {"a.weight", "'f32'"});
  bad(
      [](auto& i) {
        i.header["a.weight"]["data_offsets"] = {0, 8, 16};
      },
      {"a.weight", "data_offsets"});
  bad(
      [](auto& i) {
        i.header["a.weight"]["data_offsets"] = {0, -16};
      },
      {"a.weight", "non-negative"});
  bad(
      [](auto& i) {
        i.header["a.weight"]["data_offsets"] = {0, 16.0};
      },
      {"a.weight", "data_offsets"});
  bad(
      [](auto& i) {
        i.header["a.weight"]["data_offsets"] = {16, 0};
      },
      {"a.weight", "end before begin"});
  bad([](auto& i) { i.header["a.weight"] = {1, 2}; }, {"a.weight", "expected an object"});
  bad([](auto& i) { i.header["__metadata__"] = {{"format", 1}}; }, {"__metadata__", "'format'"});
  bad([](auto& i) { i.header["__metadata__"] = "pt"; }, {"__metadata__"});
  // 2^40 * 2^40 elements cannot be addressed.
  bad(
      [](auto& i) {
        i.header["a.weight"]["shape"] = {1ll << 40, 1ll << 40};
      },
      {"a.weight", "too large"});
}

TEST(Safetensors, RejectsAHeaderThatIsNotAnObject) {
  SafetensorsImage image;
  image.header = nlohmann::json::array({1, 2});
  const std::string bytes = image.bytes();
  EXPECT_WHALE_ERROR(parse_safetensors(as_bytes(bytes), "mem"), "mem", "JSON object");
}

TEST(Safetensors, RejectsAHeaderLengthBeyondTheLimit) {
  std::string bytes(16, ' ');
  const std::uint64_t n = 1ull << 40;
  std::memcpy(bytes.data(), &n, 8);
  EXPECT_WHALE_ERROR(parse_safetensors(as_bytes(bytes), "mem"), "mem", "exceeds");
}

TEST(Safetensors, RejectsAJsonNumberBeyondDoubleRange) {
  // nlohmann reports this as out_of_range, not parse_error; it must still become whale::Error.
  const std::string text = R"({"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})";
  std::string bytes(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += text + "    ";
  EXPECT_WHALE_ERROR(parse_safetensors(as_bytes(bytes), "mem"), "mem", "malformed JSON");
}

TEST(SafetensorsFile, MapsAGoldenShardAndReadsEveryTensor) {
  const SafetensorsFile f(test::golden_folder("v3-tiny-fp8") + "/model-00001-of-00003.safetensors");
  EXPECT_EQ(f.header().metadata.at("format"), "pt");
  std::size_t bytes = 0;
  for (const auto& [name, t] : f.header().tensors) {
    EXPECT_EQ(t.data.size(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype)) << name;
    bytes += t.data.size();
  }
  EXPECT_LT(bytes, f.size_bytes());
  EXPECT_GT(f.header().tensors.size(), 100u);
}

TEST(Checkpoint, ResolvesEveryTensorOfAShardedFolderThroughTheIndex) {
  const Checkpoint ck(test::golden_folder("v3-tiny-fp8"));
  EXPECT_EQ(ck.shard_count(), 3u);
  const auto index =
      test::read_json(test::golden_folder("v3-tiny-fp8") + "/model.safetensors.index.json");
  EXPECT_EQ(ck.tensors().size(), index["weight_map"].size());
  for (const auto& [name, shard] : index["weight_map"].items()) {
    const TensorInfo* t = ck.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_TRUE(t->file.ends_with(shard.get<std::string>())) << name << " in " << t->file;
  }
  const TensorInfo* scale = ck.find("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->dtype, DType::kF32);
  EXPECT_EQ(scale->shape, (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(ck.find("no.such.tensor"), nullptr);
}

TEST(Checkpoint, OpensASingleFileFolder) {
  const Checkpoint ck(test::golden_folder("v2-lite-tiny"));
  EXPECT_EQ(ck.shard_count(), 1u);
  ASSERT_NE(ck.find("model.layers.0.self_attn.q_proj.weight"), nullptr);
  EXPECT_EQ(ck.find("model.layers.0.self_attn.q_proj.weight")->dtype, DType::kBF16);
  EXPECT_TRUE(is_checkpoint_folder(test::golden_folder("v2-lite-tiny")));
  EXPECT_FALSE(is_checkpoint_folder(test::golden_folder("v2-lite-tiny") + "/config.json"));
}

}  // namespace
}  // namespace whale
