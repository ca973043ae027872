#include "io/safetensors_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

// A fresh, empty folder under the system temp directory, removed at the end of the test.
class TempFolder {
 public:
  TempFolder() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            fmt::format("whale-{}-{}-{}", info->test_suite_name(), info->name(), ::getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempFolder() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Deterministic, distinct content for a tensor: byte i of tensor `name`.
std::vector<std::uint8_t> content(const TensorSpec& t) {
  std::vector<std::uint8_t> bytes(t.bytes());
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::uint8_t>(i * 131 + t.name.size() * 17 + t.name.back());
  return bytes;
}

std::vector<TensorSpec> sample_tensors() {
  return {{"b.bf16", DType::kBF16, {3, 5}},  {"a.f32", DType::kF32, {2, 3}},
          {"c.fp8", DType::kF8E4M3, {7, 9}}, {"d.i64", DType::kI64, {4}},
          {"e.scalar", DType::kF32, {}},     {"f.empty", DType::kF16, {0, 4}},
          {"g.u8", DType::kU8, {3}},         {"a.f16", DType::kF16, {1, 1, 3}}};
}

// Writes `tensors` in pieces of at most 4 bytes, to exercise streaming.
void write_file(const std::string& path, const std::vector<TensorSpec>& tensors,
                const std::map<std::string, std::string>& metadata = {{"format", "pt"}}) {
  SafetensorsWriter w(path, tensors, metadata);
  for (const TensorSpec& t : w.tensors()) {
    const auto bytes = content(t);
    for (std::size_t i = 0; i < bytes.size(); i += 4)
      w.write(std::span(bytes).subspan(i, std::min<std::size_t>(4, bytes.size() - i)));
  }
  w.finish();
}

TEST(SafetensorsWriterTest, RoundTripsDtypesShapesAndBytesThroughTheParser) {
  TempFolder dir;
  const auto tensors = sample_tensors();
  write_file(dir.file("x.safetensors"), tensors);
  const SafetensorsFile file(dir.file("x.safetensors"));
  ASSERT_EQ(file.header().tensors.size(), tensors.size());
  EXPECT_EQ(file.header().metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  for (const TensorSpec& t : tensors) {
    SCOPED_TRACE(t.name);
    const auto it = file.header().tensors.find(t.name);
    ASSERT_NE(it, file.header().tensors.end());
    EXPECT_EQ(it->second.dtype, t.dtype);
    EXPECT_EQ(it->second.shape, t.shape);
    const auto expected = content(t);
    ASSERT_EQ(it->second.data.size(), expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), it->second.data.begin()));
  }
}

TEST(SafetensorsWriterTest, HeaderIsPaddedWithSpacesToAMultipleOfEight) {
  TempFolder dir;
  for (int extra = 0; extra < 8; ++extra) {  // name lengths that hit every remainder
    const std::vector<TensorSpec> tensors = {{std::string(1 + extra, 'w'), DType::kBF16, {2}}};
    write_file(dir.file("x.safetensors"), tensors);
    const auto bytes = read_bytes(dir.file("x.safetensors"));
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
    EXPECT_EQ(n % 8, 0u);
    const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
    const auto close = header.find_last_of('}');
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
    EXPECT_LT(header.size() - close - 1, 8u);
    EXPECT_EQ(header.rfind(R"({"__metadata__":{"format":"pt"},)", 0), 0u) << header;
    EXPECT_EQ(bytes.size(), 8 + n + 4);
  }
}

TEST(SafetensorsWriterTest, LaysOutWidestDtypeFirstThenByNameWithoutGaps) {
  TempFolder dir;
  const auto tensors = sample_tensors();
  write_file(dir.file("x.safetensors"), tensors);
  const SafetensorsFile file(dir.file("x.safetensors"));
  const std::vector<std::string> expected = {"d.i64",  "a.f32",   "e.scalar", "a.f16",
                                             "b.bf16", "f.empty", "c.fp8",    "g.u8"};
  const std::uint8_t* cursor = nullptr;
  for (const auto& name : expected) {
    const TensorInfo& t = file.header().tensors.at(name);
    if (cursor != nullptr) {
      EXPECT_EQ(t.data.data(), cursor) << name;
    }
    cursor = t.data.data() + t.data.size();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data.data()) % dtype_size(t.dtype), 0u) << name;
  }
  std::vector<std::string> order;
  for (const auto& t : safetensors_file_order(tensors)) order.push_back(t.name);
  EXPECT_EQ(order, expected);
}

TEST(SafetensorsWriterTest, WritesNoMetadataWhenGivenNone) {
  TempFolder dir;
  write_file(dir.file("x.safetensors"), {{"t", DType::kF32, {1}}}, {});
  const SafetensorsFile file(dir.file("x.safetensors"));
  EXPECT_TRUE(file.header().metadata.empty());
  EXPECT_EQ(file.header().tensors.size(), 1u);
}

TEST(SafetensorsWriterTest, RejectsTooManyOrTooFewBytesAndDuplicateNames) {
  TempFolder dir;
  {
    SafetensorsWriter w(dir.file("x.safetensors"), {{"t", DType::kF32, {2}}});
    const std::vector<std::uint8_t> nine(9);
    EXPECT_THROW(w.write(nine), Error);
    w.write(std::span(nine).first(4));
    EXPECT_THROW(w.finish(), Error);
  }
  EXPECT_THROW(SafetensorsWriter(dir.file("y.safetensors"),
                                 {{"t", DType::kF32, {2}}, {"t", DType::kBF16, {2}}}),
               Error);
  EXPECT_THROW(SafetensorsWriter(dir.file("no/such/dir/z.safetensors"), {}), Error);
}

TEST(SafetensorsWriterTest, PlansShardsInNameOrderUpToTheLimit) {
  const std::vector<TensorSpec> tensors = {{"c", DType::kU8, {40}},
                                           {"a", DType::kU8, {60}},
                                           {"b", DType::kU8, {50}},
                                           {"d", DType::kU8, {250}},  // larger than the limit
                                           {"e", DType::kU8, {100}}};
  const auto shards = plan_shards(tensors, 100);
  std::vector<std::vector<std::string>> names;
  for (const auto& s : shards) {
    names.emplace_back();
    for (const auto& t : s) names.back().push_back(t.name);
  }
  EXPECT_EQ(names, (std::vector<std::vector<std::string>>{{"a"}, {"b", "c"}, {"d"}, {"e"}}));
  EXPECT_EQ(plan_shards(tensors, 1000).size(), 1u);
}

void write_folder(const std::string& folder, const std::vector<TensorSpec>& tensors,
                  std::uint64_t max_shard_bytes) {
  std::ofstream(folder + "/config.json") << "{}\n";
  write_model_safetensors(folder, tensors, max_shard_bytes,
                          [](const TensorSpec& t, const TensorBytesSink& write) {
                            const auto bytes = content(t);
                            write(std::span(bytes).first(bytes.size() / 2));
                            write(std::span(bytes).subspan(bytes.size() / 2));
                          });
}

TEST(SafetensorsWriterTest, ShardsWithAnIndexThatCheckpointOpens) {
  TempFolder dir;
  std::vector<TensorSpec> tensors;
  std::uint64_t total = 0;
  for (int i = 0; i < 10; ++i) {
    tensors.push_back({fmt::format("model.layers.{}.weight", i), DType::kBF16, {8, 8}});
    tensors.push_back({fmt::format("model.layers.{}.weight_scale_inv", i), DType::kF32, {1, 1}});
    total += 128 + 4;
  }
  write_folder(dir.path(), tensors, 300);

  EXPECT_FALSE(fs::exists(dir.file("model.safetensors")));
  const auto index = nlohmann::json::parse(std::ifstream(dir.file("model.safetensors.index.json")));
  EXPECT_EQ(index["metadata"]["total_size"].get<std::uint64_t>(), total);
  ASSERT_EQ(index["weight_map"].size(), tensors.size());
  const std::size_t n = plan_shards(tensors, 300).size();
  ASSERT_GT(n, 2u);
  for (std::size_t k = 1; k <= n; ++k)
    EXPECT_TRUE(fs::exists(dir.file(fmt::format("model-{:05d}-of-{:05d}.safetensors", k, n))));

  const Checkpoint checkpoint(dir.path());
  EXPECT_EQ(checkpoint.shard_count(), n);
  for (const TensorSpec& t : tensors) {
    const TensorInfo* info = checkpoint.find(t.name);
    ASSERT_NE(info, nullptr) << t.name;
    EXPECT_EQ(info->shape, t.shape);
    const auto expected = content(t);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), info->data.begin(), info->data.end()));
    EXPECT_EQ(index["weight_map"][t.name].get<std::string>(),
              fs::path(info->file).filename().string());
  }
}

TEST(SafetensorsWriterTest, OneFileAndNoIndexWhenUnderTheLimit) {
  TempFolder dir;
  write_folder(dir.path(), sample_tensors(), 5'000'000'000);
  EXPECT_TRUE(fs::exists(dir.file("model.safetensors")));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors.index.json")));
  const Checkpoint checkpoint(dir.path());
  EXPECT_EQ(checkpoint.tensors().size(), sample_tensors().size());
}

TEST(SafetensorsWriterTest, FillerWritingTheWrongSizeIsAnError) {
  TempFolder dir;
  const auto short_fill = [](const TensorSpec& t, const TensorBytesSink& write) {
    write(std::vector<std::uint8_t>(t.bytes() - 1));
  };
  EXPECT_THROW(write_model_safetensors(dir.path(), {{"t", DType::kF32, {4}}}, 100, short_fill),
               Error);
  const auto long_fill = [](const TensorSpec& t, const TensorBytesSink& write) {
    write(std::vector<std::uint8_t>(t.bytes() + 1));
  };
  EXPECT_THROW(write_model_safetensors(
                   dir.path(), {{"t", DType::kF32, {4}}, {"u", DType::kF32, {4}}}, 100, long_fill),
               Error);
}

}  // namespace
}  // namespace whale
