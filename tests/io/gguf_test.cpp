// GGUF: writer -> reader round trips (every value type, several tensor types, split files),
// the llama.cpp-written golden fixtures, and one test per malformed input, each asserting one
// whale::Error that names the file and the key, tensor or field at fault.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>

#include "io/gguf_writer.h"
#include "io/safetensors.h"
#include "support/test_support.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string golden_gguf(const std::string& name) {
  return std::string(WHALE_TEST_DATA) + "/golden-gguf/" + name;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Deterministic bytes for a tensor of `n` bytes.
std::string pattern_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed * 17 + i / 7) & 0xFF);
  return s;
}

std::size_t tensor_bytes(DType dtype, const std::vector<std::int64_t>& dims) {
  const std::int64_t n =
      std::accumulate(dims.begin(), dims.end(), std::int64_t{1}, std::multiplies<std::int64_t>());
  return static_cast<std::size_t>(dtype_row_bytes(dtype, n));
}

// --- metadata round trip ---------------------------------------------------------------------

TEST(GgufRoundTrip, EveryValueTypeReadsBackWithItsTypeAndValue) {
  TempDir dir;
  const std::string path = dir.file("values.gguf");
  const std::vector<std::uint8_t> u8s = {0, 1, 255};
  const std::vector<std::int8_t> i8s = {-128, 0, 127};
  const std::vector<std::uint16_t> u16s = {0, 65535};
  const std::vector<std::int16_t> i16s = {-32768, 32767};
  const std::vector<std::uint32_t> u32s = {1, 2, 4000000000u};
  const std::vector<std::int32_t> i32s = {-5, 0, 5};
  const std::vector<std::uint64_t> u64s = {1, 1ull << 63};
  const std::vector<std::int64_t> i64s = {std::numeric_limits<std::int64_t>::min(), 7};
  const std::vector<float> f32s = {0.5f, -1.25f, 3e-8f};
  const std::vector<double> f64s = {1e300, -2.5};
  const std::vector<double> small_f64s = {1.5e10, -2.5};
  const bool bools[] = {true, false, true};
  const std::vector<std::string> words = {"alpha", "", "gamma with spaces", "\xe2\x96\x81x"};
  {
    GgufWriter w(path);
    w.set("t.u8", std::uint8_t{200});
    w.set("t.i8", std::int8_t{-100});
    w.set("t.u16", std::uint16_t{60000});
    w.set("t.i16", std::int16_t{-30000});
    w.set("t.u32", std::uint32_t{4000000000u});
    w.set("t.i32", std::int32_t{-2000000000});
    w.set("t.u64", std::uint64_t{18000000000000000000ull});
    w.set("t.i64", std::int64_t{-9000000000000000000ll});
    w.set("t.f32", 0.1f);
    w.set("t.f64", 0.1);
    w.set("t.bool", true);
    w.set("t.string", "hello\nworld");
    w.set("t.empty_string", "");
    w.set("a.u8", GgufValue::array(std::span<const std::uint8_t>(u8s)));
    w.set("a.i8", GgufValue::array(std::span<const std::int8_t>(i8s)));
    w.set("a.u16", GgufValue::array(std::span<const std::uint16_t>(u16s)));
    w.set("a.i16", GgufValue::array(std::span<const std::int16_t>(i16s)));
    w.set("a.u32", GgufValue::array(std::span<const std::uint32_t>(u32s)));
    w.set("a.i32", GgufValue::array(std::span<const std::int32_t>(i32s)));
    w.set("a.u64", GgufValue::array(std::span<const std::uint64_t>(u64s)));
    w.set("a.i64", GgufValue::array(std::span<const std::int64_t>(i64s)));
    w.set("a.f32", GgufValue::array(std::span<const float>(f32s)));
    w.set("a.f64", GgufValue::array(std::span<const double>(f64s)));
    w.set("a.f64_small", GgufValue::array(std::span<const double>(small_f64s)));
    w.set("a.bool", GgufValue::array(std::span<const bool>(bools)));
    w.set("a.string", GgufValue::string_array(std::span<const std::string>(words)));
    w.set("a.empty", GgufValue::array(std::span<const float>()));
    w.set("a.nested", GgufValue::array_of_arrays(
                          {GgufValue::array(std::span<const std::int32_t>(i32s)),
                           GgufValue::array(std::span<const std::int32_t>(i32s).first(1))}));
    w.set("a.nested_strings",
          GgufValue::array_of_arrays({GgufValue::string_array(std::span<const std::string>(words)),
                                      GgufValue::string_array(std::span<const std::string>())}));
    w.finish();
  }
  const GgufModel m(path);
  const GgufMetadata& md = m.metadata();
  EXPECT_EQ(m.version(), 3u);
  EXPECT_EQ(m.alignment(), 32u);
  EXPECT_EQ(md.size(), 29u);
  EXPECT_EQ(md.entries()[0].key, "t.u8");  // file order kept
  EXPECT_EQ(md.get("t.u8").type(), GgufType::kU8);
  EXPECT_EQ(md.get_u32("t.u8"), 200u);
  EXPECT_EQ(md.get("t.i8").type(), GgufType::kI8);
  EXPECT_EQ(md.get_i64("t.i8"), -100);
  EXPECT_EQ(md.get("t.u16").type(), GgufType::kU16);
  EXPECT_EQ(md.get_u16("t.u16"), 60000);
  EXPECT_EQ(md.get("t.i16").type(), GgufType::kI16);
  EXPECT_EQ(md.get_i32("t.i16"), -30000);
  EXPECT_EQ(md.get("t.u32").type(), GgufType::kU32);
  EXPECT_EQ(md.get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(md.get("t.i32").type(), GgufType::kI32);
  EXPECT_EQ(md.get_i32("t.i32"), -2000000000);
  EXPECT_EQ(md.get("t.u64").type(), GgufType::kU64);
  EXPECT_EQ(md.get_u64("t.u64"), 18000000000000000000ull);
  EXPECT_EQ(md.get("t.i64").type(), GgufType::kI64);
  EXPECT_EQ(md.get_i64("t.i64"), -9000000000000000000ll);
  EXPECT_EQ(md.get("t.f32").type(), GgufType::kF32);
  EXPECT_EQ(md.get_f32("t.f32"), 0.1f);
  EXPECT_EQ(md.get("t.f64").type(), GgufType::kF64);
  EXPECT_EQ(md.get_f64("t.f64"), 0.1);
  EXPECT_EQ(md.get("t.bool").type(), GgufType::kBool);
  EXPECT_TRUE(md.get_bool("t.bool"));
  EXPECT_EQ(md.get_string("t.string"), "hello\nworld");
  EXPECT_EQ(md.get_string("t.empty_string"), "");

  EXPECT_EQ(md.get_int_array("a.u8"), (std::vector<std::int64_t>{0, 1, 255}));
  EXPECT_EQ(md.get_int_array("a.i8"), (std::vector<std::int64_t>{-128, 0, 127}));
  EXPECT_EQ(md.get_int_array("a.u16"), (std::vector<std::int64_t>{0, 65535}));
  EXPECT_EQ(md.get_int_array("a.i16"), (std::vector<std::int64_t>{-32768, 32767}));
  EXPECT_EQ(md.get_int_array("a.u32"), (std::vector<std::int64_t>{1, 2, 4000000000ll}));
  EXPECT_EQ(md.get_int_array("a.i32"), (std::vector<std::int64_t>{-5, 0, 5}));
  EXPECT_EQ(md.get_int_array("a.i64"), i64s);
  EXPECT_EQ(md.get_f32_array("a.f32"), f32s);
  EXPECT_EQ(md.get_f32_array("a.f64_small"), (std::vector<float>{1.5e10f, -2.5f}));
  const GgufArray& b = md.get_array("a.bool");
  EXPECT_EQ(b.element_type, GgufType::kBool);
  ASSERT_EQ(b.length, 3u);
  EXPECT_TRUE(std::get<bool>(b.element(0).value));
  EXPECT_FALSE(std::get<bool>(b.element(1).value));
  const GgufArray& u64a = md.get_array("a.u64");
  EXPECT_EQ(std::get<std::uint64_t>(u64a.element(1).value), 1ull << 63);
  const GgufArray& f64a = md.get_array("a.f64");
  EXPECT_EQ(std::get<double>(f64a.element(0).value), 1e300);
  const auto& strings = md.get_string_array("a.string");
  ASSERT_EQ(strings.size(), words.size());
  for (std::size_t i = 0; i < words.size(); ++i) EXPECT_EQ(strings[i], words[i]);
  EXPECT_EQ(md.get_array("a.empty").length, 0u);
  EXPECT_EQ(md.get("a.empty").type_string(), "array<f32>");

  const GgufArray& nested = md.get_array("a.nested");
  EXPECT_EQ(md.get("a.nested").type_string(), "array<array<i32>>");
  ASSERT_EQ(nested.length, 2u);
  const GgufArray* n0 = nested.arrays[0].as_array();
  const GgufArray* n1 = nested.arrays[1].as_array();
  ASSERT_TRUE(n0 != nullptr && n1 != nullptr);
  EXPECT_EQ(n0->length, 3u);
  EXPECT_EQ(std::get<std::int32_t>(n0->element(2).value), 5);
  EXPECT_EQ(n1->length, 1u);
  const GgufArray& ns = md.get_array("a.nested_strings");
  const GgufArray* s0 = ns.arrays[0].as_array();
  const GgufArray* s1 = ns.arrays[1].as_array();
  ASSERT_TRUE(s0 != nullptr && s1 != nullptr);
  ASSERT_EQ(s0->strings.size(), 4u);
  EXPECT_EQ(s0->strings[2], "gamma with spaces");
  EXPECT_EQ(s1->length, 0u);
}

TEST(GgufMetadataAccess, IntegersConvertWhenTheValueFitsAndFailNamingTheKeyWhenNot) {
  TempDir dir;
  const std::string path = dir.file("ints.gguf");
  {
    GgufWriter w(path);
    w.set("small", std::uint8_t{7});
    w.set("negative", std::int32_t{-1});
    w.set("big", std::uint64_t{1} << 40);
    w.set("name", "x");
    w.set("flag", false);
    w.finish();
  }
  const GgufModel m(path);
  const GgufMetadata& md = m.metadata();
  EXPECT_EQ(md.get_u32("small"), 7u);
  EXPECT_EQ(md.get_i64("small"), 7);
  EXPECT_EQ(md.get_i32("negative"), -1);
  EXPECT_EQ(md.get_u64("big"), std::uint64_t{1} << 40);
  EXPECT_WHALE_ERROR(md.get_u32("negative"), path, "'negative'", "i32 -1", "does not fit", "u32");
  EXPECT_WHALE_ERROR(md.get_u32("big"), path, "'big'", "does not fit");
  EXPECT_WHALE_ERROR(md.get_u32("name"), path, "'name'", "is string", "expected an integer");
  EXPECT_WHALE_ERROR(md.get_u32("flag"), path, "'flag'", "is bool");
  EXPECT_WHALE_ERROR(md.get_string("small"), path, "'small'", "is u8", "expected string");
  EXPECT_WHALE_ERROR(md.get_f32("name"), path, "'name'", "expected a float");
  EXPECT_WHALE_ERROR(md.get_string_array("small"), path, "'small'", "array<string>");
  EXPECT_WHALE_ERROR(md.get_u32("absent.key"), path, "'absent.key'", "missing");
  EXPECT_FALSE(md.find_u32("absent.key").has_value());
  EXPECT_EQ(md.find_u32("small"), 7u);
  EXPECT_WHALE_ERROR(md.find_u32("name"), path, "'name'", "is string");
}

// --- tensors -----------------------------------------------------------------------------------

struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> dims;
};

const std::vector<TensorSpec> kTensors = {
    {"token_embd.weight", DType::kBF16, {128, 6}},
    {"blk.0.attn_norm.weight", DType::kF32, {5}},  // not a multiple of the alignment
    {"blk.0.attn_k_b.weight", DType::kF16, {8, 6, 2}},
    {"blk.0.ffn_up.weight", DType::kQ8_0, {64, 3}},
    {"blk.0.ffn_down.weight", DType::kQ4_K, {256, 2}},
    {"blk.0.ffn_gate.weight", DType::kQ6_K, {256, 1, 1, 2}},
    {"pos.ids", DType::kI32, {3}},
};

// Writes kTensors with pattern data; returns the files.
std::vector<std::string> write_model(const std::string& path, GgufWriterOptions options = {}) {
  GgufWriter w(path, options);
  w.set("general.architecture", "deepseek2");
  w.set("deepseek2.block_count", std::uint32_t{1});
  for (const auto& t : kTensors) w.add_tensor(t.name, t.dtype, t.dims);
  unsigned seed = 0;
  for (const auto& t : kTensors) {
    const std::string data = pattern_bytes(tensor_bytes(t.dtype, t.dims), ++seed);
    // Two chunks, to exercise streaming a tensor in pieces.
    const std::size_t half = data.size() / 2;
    w.write_tensor_data(bytes_of(data).first(half));
    w.write_tensor_data(bytes_of(data).subspan(half));
  }
  return w.finish();
}

void expect_tensors_as_written(const GgufModel& m) {
  ASSERT_EQ(m.tensors().size(), kTensors.size());
  unsigned seed = 0;
  for (std::size_t i = 0; i < kTensors.size(); ++i) {
    const TensorSpec& spec = kTensors[i];
    const GgufTensor& t = m.tensor(spec.name);
    EXPECT_EQ(t.name, spec.name);
    EXPECT_EQ(&t, &m.tensors()[i]);  // file order kept
    EXPECT_EQ(t.dtype, spec.dtype) << spec.name;
    EXPECT_EQ(t.ggml_type, *ggml_type_of(spec.dtype));
    EXPECT_EQ(std::vector<std::int64_t>(t.dims().begin(), t.dims().end()), spec.dims);
    EXPECT_EQ(t.offset % m.alignment(), 0u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data.data()) % m.alignment(), 0u)
        << "tensor data is aligned in memory as in the file";
    const std::string want = pattern_bytes(tensor_bytes(spec.dtype, spec.dims), ++seed);
    ASSERT_EQ(t.byte_size(), want.size()) << spec.name;
    EXPECT_EQ(std::memcmp(t.data.data(), want.data(), want.size()), 0) << spec.name;
  }
}

TEST(GgufRoundTrip, TensorsOfSeveralTypesReadBackByteForByte) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"));
  ASSERT_EQ(files, std::vector<std::string>{dir.file("m.gguf")});
  const GgufModel m(dir.file("m.gguf"));
  EXPECT_EQ(m.part_count(), 1u);
  EXPECT_EQ(m.metadata().get_string("general.architecture"), "deepseek2");
  expect_tensors_as_written(m);
  EXPECT_EQ(m.tensor("blk.0.ffn_down.weight").byte_size(), 2u * 144u);
  EXPECT_EQ(m.tensor("blk.0.ffn_up.weight").byte_size(), 3u * 2u * 34u);
  EXPECT_EQ(m.find_tensor("nope"), nullptr);
  EXPECT_WHALE_ERROR(m.tensor("nope"), dir.file("m.gguf"), "'nope'");
  // No temporary left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(GgufRoundTrip, LargerAlignmentIsWrittenAsGeneralAlignmentAndHonoured) {
  TempDir dir;
  write_model(dir.file("m.gguf"), {.alignment = 256});
  const GgufModel m(dir.file("m.gguf"));
  EXPECT_EQ(m.alignment(), 256u);
  EXPECT_EQ(m.metadata().get_u32("general.alignment"), 256u);
  expect_tensors_as_written(m);
}

TEST(GgufWriterTest, NothingAppearsUntilFinishAndAnAbandonedWriteLeavesNoFiles) {
  TempDir dir;
  {
    GgufWriter w(dir.file("m.gguf"));
    w.add_tensor("a", DType::kF32, {4});
    w.write_tensor_data(bytes_of(std::string(8, 'x')));
    EXPECT_FALSE(fs::exists(dir.file("m.gguf")));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 0);
}

TEST(GgufWriterTest, MisuseFailsNamingTheFileAndTheKeyOrTensor) {
  TempDir dir;
  const std::string path = dir.file("m.gguf");
  GgufWriter w(path);
  w.set("k", std::uint32_t{1});
  EXPECT_WHALE_ERROR(w.set("k", std::uint32_t{2}), path, "'k'", "twice");
  EXPECT_WHALE_ERROR(w.set("general.alignment", std::uint32_t{64}), path, "general.alignment");
  EXPECT_WHALE_ERROR(w.set("split.count", std::uint16_t{2}), path, "split.count");
  EXPECT_WHALE_ERROR(w.add_tensor("q", DType::kQ8_0, {33}), path, "'q'", "multiple", "32");
  EXPECT_WHALE_ERROR(w.add_tensor("f8", DType::kF8E4M3, {4}), path, "'f8'", "F8_E4M3");
  EXPECT_WHALE_ERROR(w.add_tensor("five", DType::kF32, {1, 1, 1, 1, 1}), path, "'five'", "5 dims");
  EXPECT_WHALE_ERROR(w.add_tensor(std::string(64, 'n'), DType::kF32, {1}), path, "64 bytes");
  w.add_tensor("a", DType::kF32, {4});
  EXPECT_WHALE_ERROR(w.add_tensor("a", DType::kF32, {4}), path, "'a'", "twice");
  w.add_tensor("b", DType::kF32, {2});
  EXPECT_WHALE_ERROR(w.write_tensor_data(bytes_of(std::string(20, 'x'))), path, "'a'", "20 bytes",
                     "16");
  w.write_tensor_data(bytes_of(std::string(16, 'x')));
  EXPECT_WHALE_ERROR(w.set("late", std::uint32_t{1}), path, "'late'", "after tensor data");
  EXPECT_WHALE_ERROR(w.finish(), path, "'b'", "0 of its 8 bytes");
  w.write_tensor_data(bytes_of(std::string(8, 'y')));
  EXPECT_WHALE_ERROR(w.write_tensor_data(bytes_of(std::string(1, 'z'))), path,
                     "beyond the declared tensors");
  w.finish();
  EXPECT_EQ(GgufModel(path).tensors().size(), 2u);
}

// --- split files ---------------------------------------------------------------------------------

TEST(GgufSplit, PartsOpenAsOneModelWithTheSplitKeysOfGgufSplit) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0], dir.file("m-00001-of-00003.gguf"));
  EXPECT_EQ(files[2], dir.file("m-00003-of-00003.gguf"));
  for (std::uint32_t i = 0; i < 3; ++i) {
    const std::string bytes = test::read_bytes(files[i]);
    const GgufHeader h = parse_gguf(bytes_of(bytes), files[i]);
    EXPECT_EQ(h.metadata.get("split.no").type(), GgufType::kU16);
    EXPECT_EQ(h.metadata.get_u32("split.no"), i);
    EXPECT_EQ(h.metadata.get("split.count").type(), GgufType::kU16);
    EXPECT_EQ(h.metadata.get_u32("split.count"), 3u);
    EXPECT_EQ(h.metadata.get("split.tensors.count").type(), GgufType::kI32);
    EXPECT_EQ(h.metadata.get_i64("split.tensors.count"), 7);
    EXPECT_EQ(h.metadata.contains("general.architecture"), i == 0) << "metadata in part 1 only";
    EXPECT_EQ(h.tensors.size(), i < 2 ? 3u : 1u);
  }
  const GgufModel m(files[0]);
  EXPECT_EQ(m.part_count(), 3u);
  EXPECT_EQ(m.part_path(1), files[1]);
  EXPECT_EQ(m.metadata().get_string("general.architecture"), "deepseek2");
  expect_tensors_as_written(m);
  EXPECT_EQ(m.tensor("pos.ids").part, 2u);
  EXPECT_EQ(m.tensor("blk.0.ffn_up.weight").part, 1u);
}

TEST(GgufSplit, ByteLimitStartsANewPartBeforeATensorThatWouldExceedIt) {
  TempDir dir;
  // token_embd is 1536 bytes; every other tensor fits with the next under 2048.
  const auto files = write_model(dir.file("m.gguf"), {.max_bytes_per_part = 2048});
  ASSERT_GE(files.size(), 2u);
  const GgufModel m(files[0]);
  EXPECT_EQ(m.part_count(), files.size());
  expect_tensors_as_written(m);
  for (std::size_t p = 0; p < files.size(); ++p) {
    std::uint64_t bytes = 0;
    std::size_t count = 0;
    for (const auto& t : m.tensors())
      if (t.part == p) bytes += (t.byte_size() + 31) / 32 * 32, ++count;
    EXPECT_TRUE(bytes <= 2048 || count == 1) << "part " << p;
  }
}

TEST(GgufSplit, MissingPartIsNamed) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  fs::remove(files[1]);
  EXPECT_WHALE_ERROR(GgufModel{files[0]}, files[1], "part 2 of 3", "missing");
}

TEST(GgufSplit, PartWithTheWrongSplitNumberIsNamed) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  fs::copy_file(files[2], files[1], fs::copy_options::overwrite_existing);
  EXPECT_WHALE_ERROR(GgufModel{files[0]}, files[1], "split.no is 2, expected 1");
}

TEST(GgufSplit, PartOfAnotherSplitCountIsNamed) {
  TempDir dir;
  const auto three = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  TempDir other;
  const auto two = write_model(other.file("m.gguf"), {.max_tensors_per_part = 4});
  // Part 2 of a 2-part split put where part 2 of 3 belongs.
  fs::copy_file(two[1], three[1], fs::copy_options::overwrite_existing);
  EXPECT_WHALE_ERROR(GgufModel{three[0]}, three[1], "split.count is 2, expected 3");
}

TEST(GgufSplit, OpeningALaterPartNamesTheFirst) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  EXPECT_WHALE_ERROR(GgufModel{files[1]}, files[1], "open the first part", files[0]);
}

TEST(GgufSplit, RenamedFirstPartIsRefused) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  fs::rename(files[0], dir.file("renamed.gguf"));
  EXPECT_WHALE_ERROR(GgufModel{dir.file("renamed.gguf")}, dir.file("renamed.gguf"), "split.count",
                     "NAME-00001-of-00003.gguf");
}

// Overwrites the 4-byte little-endian value that follows the key `key` and its type id.
void patch_u32_after_key(const std::string& path, const std::string& key, std::uint32_t value) {
  std::string bytes = test::read_bytes(path);
  const std::size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos) << key;
  std::memcpy(bytes.data() + at + key.size() + 4, &value, 4);
  test::write_bytes(path, bytes);
}

TEST(GgufSplit, TensorCountDifferentFromSplitTensorsCountIsNamed) {
  TempDir dir;
  const auto files = write_model(dir.file("m.gguf"), {.max_tensors_per_part = 3});
  patch_u32_after_key(files[0], "split.tensors.count", 8);
  EXPECT_WHALE_ERROR(GgufModel{files[0]}, files[0], "split.tensors.count is 8", "7 tensors");
}

// --- the llama.cpp-written fixtures --------------------------------------------------------------

TEST(GgufGolden, SplitFormFilesCarryTheDeepSeek2Facts) {
  for (const char* name : {"v2-lite-tiny.bf16.gguf", "v2-tiny.bf16.gguf", "v3-tiny-bf16.bf16.gguf",
                           "v3-tiny-fp8.f32.gguf"}) {
    SCOPED_TRACE(name);
    const GgufModel m(golden_gguf(name));
    const GgufMetadata& md = m.metadata();
    EXPECT_EQ(m.version(), 3u);
    EXPECT_EQ(m.alignment(), 32u);
    EXPECT_EQ(md.get_string("general.architecture"), "deepseek2");
    EXPECT_EQ(md.get_u32("deepseek2.block_count"), 3u);
    EXPECT_EQ(md.get_u32("deepseek2.embedding_length"), 128u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.head_count"), 4u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.head_count_kv"), 1u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.key_length"), 112u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.value_length"), 96u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.key_length_mla"), 48u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.value_length_mla"), 32u);
    EXPECT_EQ(md.get_u32("deepseek2.attention.kv_lora_rank"), 96u);
    EXPECT_EQ(md.get_string("tokenizer.ggml.pre"), "deepseek-v3");
    const auto& tokens = md.get_string_array("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), 600u);
    EXPECT_EQ(tokens[0],
              "<\xef\xbd\x9c"
              "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
    EXPECT_EQ(md.get_int_array("tokenizer.ggml.token_type").size(), 600u);
    EXPECT_EQ(md.get_u32("tokenizer.ggml.eos_token_id"), 1u);

    for (int layer = 0; layer < 3; ++layer) {
      const GgufTensor& kb = m.tensor(fmt::format("blk.{}.attn_k_b.weight", layer));
      EXPECT_EQ(std::vector<std::int64_t>(kb.dims().begin(), kb.dims().end()),
                (std::vector<std::int64_t>{32, 96, 4}));  // [qk_nope, kv_lora, n_head]
      const GgufTensor& vb = m.tensor(fmt::format("blk.{}.attn_v_b.weight", layer));
      EXPECT_EQ(std::vector<std::int64_t>(vb.dims().begin(), vb.dims().end()),
                (std::vector<std::int64_t>{96, 32, 4}));  // [kv_lora, v_head, n_head]
    }
    const GgufTensor& embd = m.tensor("token_embd.weight");
    EXPECT_EQ(embd.shape_string(), "[128, 600]");
    const DType weights =
        std::string(name).find("f32") != std::string::npos ? DType::kF32 : DType::kBF16;
    EXPECT_EQ(embd.dtype, weights);
    EXPECT_EQ(m.tensor("output_norm.weight").dtype, DType::kF32);
    EXPECT_EQ(m.tensor("blk.0.attn_norm.weight").dtype, DType::kF32);

    // Every tensor's size is its shape times its type, inside the file, not overlapping.
    std::uint64_t sum = 0;
    for (const GgufTensor& t : m.tensors()) {
      EXPECT_EQ(t.byte_size(), static_cast<std::size_t>(t.elements()) * dtype_size(t.dtype))
          << t.name;
      EXPECT_TRUE(t.dtype == DType::kBF16 || t.dtype == DType::kF32) << t.name;
      sum += t.byte_size();
    }
    EXPECT_LE(sum, m.bytes_on_disk());
    EXPECT_GT(sum, m.bytes_on_disk() * 9 / 10);  // the file is mostly tensor data
  }
}

TEST(GgufGolden, CombinedFormHasAttnKvBAndTheOlderLengths) {
  const GgufModel m(golden_gguf("v3-tiny-bf16.kvb-combined.bf16.gguf"));
  const GgufMetadata& md = m.metadata();
  EXPECT_EQ(md.get_string("general.architecture"), "deepseek2");
  EXPECT_EQ(md.get_u32("deepseek2.block_count"), 3u);
  EXPECT_EQ(md.get_u32("deepseek2.attention.key_length"), 48u);
  EXPECT_EQ(md.get_u32("deepseek2.attention.value_length"), 32u);
  EXPECT_EQ(md.get_u32("deepseek2.attention.head_count_kv"), 4u);
  EXPECT_FALSE(md.contains("deepseek2.attention.key_length_mla"));
  const GgufTensor& kvb = m.tensor("blk.0.attn_kv_b.weight");
  EXPECT_EQ(kvb.shape_string(), "[96, 256]");  // [kv_lora, n_head * (qk_nope + v_head)]
  EXPECT_EQ(kvb.dtype, DType::kBF16);
  EXPECT_EQ(kvb.byte_size(), 96u * 256u * 2u);
  EXPECT_EQ(m.find_tensor("blk.0.attn_k_b.weight"), nullptr);
}

TEST(GgufGolden, EmbeddingBytesAreTheGoldenCheckpointsBf16Values) {
  const GgufModel m(golden_gguf("v2-lite-tiny.bf16.gguf"));
  const SafetensorsFile st(test::golden_folder("v2-lite-tiny") + "/model.safetensors");
  const TensorInfo& want = st.header().tensors.at("model.embed_tokens.weight");
  const GgufTensor& got = m.tensor("token_embd.weight");
  ASSERT_EQ(want.dtype, DType::kBF16);
  ASSERT_EQ(got.byte_size(), want.data.size());
  EXPECT_EQ(std::memcmp(got.data.data(), want.data.data(), want.data.size()), 0);
  // GGML order is the reverse of the checkpoint's [vocab, hidden].
  EXPECT_EQ(got.ne[0], want.shape[1]);
  EXPECT_EQ(got.ne[1], want.shape[0]);
}

TEST(GgufRoundTrip, AHundredThousandTokenVocabularyParsesQuickly) {
  TempDir dir;
  std::vector<std::string> tokens(150000);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = fmt::format("token{}", i);
  {
    GgufWriter w(dir.file("vocab.gguf"));
    w.set("tokenizer.ggml.tokens", GgufValue::string_array(std::span<const std::string>(tokens)));
    w.finish();
  }
  const auto start = std::chrono::steady_clock::now();
  const GgufModel m(dir.file("vocab.gguf"));
  const auto& got = m.metadata().get_string_array("tokenizer.ggml.tokens");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(got.size(), tokens.size());
  EXPECT_EQ(got[149999], "token149999");
  EXPECT_LT(seconds, 2.0);  // views, not copies: milliseconds even under sanitizers
}

bool same_scalar(const GgufValue& a, const GgufValue& b) {
  return a.type() == b.type() && std::visit(
                                     [&](const auto& x) {
                                       using T = std::decay_t<decltype(x)>;
                                       if constexpr (std::is_same_v<T, GgufArray>)
                                         return false;
                                       else
                                         return x == std::get<T>(b.value);
                                     },
                                     a.value);
}

TEST(GgufGolden, CopiedThroughTheWriterReadsBackTheSame) {
  TempDir dir;
  const GgufModel source(golden_gguf("v3-tiny-bf16.bf16.gguf"));
  {
    GgufWriter w(dir.file("copy.gguf"));
    for (const auto& [key, value] : source.metadata().entries()) w.set(key, value);
    for (const GgufTensor& t : source.tensors())
      w.add_tensor(std::string(t.name), t.dtype, {t.dims().begin(), t.dims().end()});
    for (const GgufTensor& t : source.tensors()) w.write_tensor_data(t.data);
    w.finish();
  }
  const GgufModel copy(dir.file("copy.gguf"));
  ASSERT_EQ(copy.metadata().size(), source.metadata().size());
  for (std::size_t i = 0; i < source.metadata().size(); ++i) {
    const GgufKeyValue& a = source.metadata().entries()[i];
    const GgufKeyValue& b = copy.metadata().entries()[i];
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.value.type_string(), b.value.type_string()) << a.key;
    if (a.value.as_array() == nullptr) {
      EXPECT_TRUE(same_scalar(a.value, b.value)) << a.key;
    }
  }
  EXPECT_EQ(copy.metadata().get_string_array("tokenizer.ggml.merges"),
            source.metadata().get_string_array("tokenizer.ggml.merges"));
  EXPECT_EQ(copy.metadata().get_int_array("tokenizer.ggml.token_type"),
            source.metadata().get_int_array("tokenizer.ggml.token_type"));
  ASSERT_EQ(copy.tensors().size(), source.tensors().size());
  for (const GgufTensor& t : source.tensors()) {
    const GgufTensor& c = copy.tensor(t.name);
    EXPECT_EQ(c.shape_string(), t.shape_string());
    ASSERT_EQ(c.byte_size(), t.byte_size());
    EXPECT_EQ(std::memcmp(c.data.data(), t.data.data(), t.byte_size()), 0) << t.name;
  }
}

// Writes fuzz/corpus/gguf (the fuzzer's seeds) with this writer; run by hand:
//   WHALE_GGUF_CORPUS=fuzz/corpus/gguf ./build/tests/gguf_test
//     --gtest_also_run_disabled_tests --gtest_filter='*WriteFuzzSeedCorpus'
TEST(GgufFuzzCorpus, DISABLED_WriteFuzzSeedCorpus) {
  const char* out = std::getenv("WHALE_GGUF_CORPUS");
  ASSERT_NE(out, nullptr) << "set WHALE_GGUF_CORPUS to the corpus folder";
  fs::create_directories(out);
  const std::string dir = out;
  const auto put_tiny = [](GgufWriter& w) {
    const std::int32_t ints[] = {1, -2, 3};
    const std::vector<std::string> words = {"a", "bc", ""};
    const bool bools[] = {true, false};
    w.set("general.architecture", "deepseek2");
    w.set("u8", std::uint8_t{1});
    w.set("i8", std::int8_t{-1});
    w.set("u16", std::uint16_t{2});
    w.set("i16", std::int16_t{-2});
    w.set("u32", std::uint32_t{3});
    w.set("i32", std::int32_t{-3});
    w.set("u64", std::uint64_t{4});
    w.set("i64", std::int64_t{-4});
    w.set("f32", 0.5f);
    w.set("f64", 0.25);
    w.set("bool", true);
    w.set("ints", GgufValue::array(std::span<const std::int32_t>(ints)));
    w.set("bools", GgufValue::array(std::span<const bool>(bools)));
    w.set("words", GgufValue::string_array(std::span<const std::string>(words)));
    w.set("nested", GgufValue::array_of_arrays(
                        {GgufValue::array(std::span<const std::int32_t>(ints)),
                         GgufValue::string_array(std::span<const std::string>(words))}));
    w.add_tensor("f32", DType::kF32, {4, 2});
    w.add_tensor("bf16", DType::kBF16, {8});
    w.add_tensor("q8_0", DType::kQ8_0, {32, 2});
    w.add_tensor("q4_k", DType::kQ4_K, {256});
    w.add_tensor("empty", DType::kF16, {0, 3});
    for (std::size_t n : {32, 16, 68, 144})
      w.write_tensor_data(bytes_of(pattern_bytes(n, static_cast<unsigned>(n))));
  };
  {
    GgufWriter w(dir + "/tiny.gguf");
    put_tiny(w);
    w.finish();
  }
  {
    GgufWriter w(dir + "/align64.gguf", {.alignment = 64});
    put_tiny(w);
    w.finish();
  }
  {
    GgufWriter w(dir + "/split.gguf", {.max_tensors_per_part = 2});
    put_tiny(w);
    w.finish();
  }
  {
    // The golden file's metadata (a real vocabulary) with two small tensors.
    const GgufModel golden(golden_gguf("v2-lite-tiny.bf16.gguf"));
    GgufWriter w(dir + "/deepseek2-metadata.gguf");
    for (const auto& [key, value] : golden.metadata().entries()) w.set(key, value);
    w.add_tensor("blk.0.attn_k_b.weight", DType::kBF16, {4, 2, 2});
    w.add_tensor("output_norm.weight", DType::kF32, {4});
    w.write_tensor_data(bytes_of(pattern_bytes(32, 1)));
    w.write_tensor_data(bytes_of(pattern_bytes(16, 2)));
    w.finish();
  }
  const std::string tiny = test::read_bytes(dir + "/tiny.gguf");
  test::write_bytes(dir + "/truncated-metadata.gguf", tiny.substr(0, 300));
  test::write_bytes(dir + "/truncated-infos.gguf", tiny.substr(0, tiny.size() - 400));
  test::write_bytes(dir + "/truncated-data.gguf", tiny.substr(0, tiny.size() - 100));
}

// --- malformed files -------------------------------------------------------------------------

// A GGUF image built field by field, to make every kind of bad file.
struct Raw {
  std::string bytes;
  template <typename T>
  Raw& put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes.append(b, sizeof(T));
    return *this;
  }
  Raw& u32(std::uint32_t v) { return put(v); }
  Raw& u64(std::uint64_t v) { return put(v); }
  Raw& str(std::string_view s) {
    u64(s.size());
    bytes.append(s);
    return *this;
  }
  Raw& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    bytes += "GGUF";
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  Raw& kv_u32(std::string_view key, std::uint32_t v) { return str(key).u32(4).u32(v); }
  Raw& tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type,
              std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) u64(d);
    return u32(type).u64(offset);
  }
  // Pads to 32 and appends `n` data bytes.
  Raw& data(std::size_t n) {
    bytes.append((32 - bytes.size() % 32) % 32, '\0');
    bytes.append(n, '\x01');
    return *this;
  }
};

constexpr std::uint32_t kF32 = 0, kQ8_0 = 8, kIQ2_XXS = 16;

class BadGguf : public ::testing::Test {
 protected:
  std::string path() const { return dir_.file("bad.gguf"); }
  void write(const Raw& raw) const { test::write_bytes(path(), raw.bytes); }
  void open() const { GgufModel m(path()); }

 private:
  TempDir dir_;
};

TEST_F(BadGguf, AValidHandMadeFileOpens) {
  write(Raw()
            .header(2, 1)
            .kv_u32("k", 1)
            .tensor("a", {4}, kF32, 0)
            .tensor("b", {2, 2}, kF32, 32)
            .data(48));
  const GgufModel m(path());
  EXPECT_EQ(m.tensor("b").byte_size(), 16u);
  EXPECT_EQ(m.tensor("b").data.data() - m.tensor("a").data.data(), 32);
}

TEST_F(BadGguf, NotGguf) {
  test::write_bytes(path(), "{\"not\": \"gguf\"}");
  EXPECT_WHALE_ERROR(open(), path(), "not a GGUF file", "magic");
}

TEST_F(BadGguf, EmptyFile) {
  test::write_bytes(path(), "");
  EXPECT_WHALE_ERROR(open(), path(), "not a GGUF file");
}

TEST_F(BadGguf, VersionOneIsRefusedByNumber) {
  write(Raw().header(0, 0, 1));
  EXPECT_WHALE_ERROR(open(), path(), "version 1", "not supported");
}

TEST_F(BadGguf, UnknownVersionIsRefusedByNumber) {
  write(Raw().header(0, 0, 4));
  EXPECT_WHALE_ERROR(open(), path(), "unknown GGUF version 4");
}

TEST_F(BadGguf, BigEndianFileIsRefusedAsSuch) {
  Raw raw;
  raw.bytes = std::string("GGUF\0\0\0\3", 8) + std::string(16, '\0');
  write(raw);
  EXPECT_WHALE_ERROR(open(), path(), "big-endian");
}

TEST_F(BadGguf, VersionTwoIsRead) {
  write(Raw().header(1, 1, 2).kv_u32("k", 9).tensor("a", {8}, kF32, 0).data(32));
  const GgufModel m(path());
  EXPECT_EQ(m.version(), 2u);
  EXPECT_EQ(m.metadata().get_u32("k"), 9u);
}

TEST_F(BadGguf, TruncatedHeader) {
  Raw raw;
  raw.header(0, 0);
  raw.bytes.resize(12);
  write(raw);
  EXPECT_WHALE_ERROR(open(), path(), "truncated", "the GGUF header");
}

TEST_F(BadGguf, GoldenFileTruncatedAnywhereFailsCleanly) {
  const std::string bytes = test::read_bytes(golden_gguf("v2-lite-tiny.bf16.gguf"));
  for (std::size_t n : {5ul, 30ul, 100ul, 1000ul, 5000ul, 20000ul, bytes.size() - 1000}) {
    SCOPED_TRACE(n);
    test::write_bytes(path(), bytes.substr(0, n));
    EXPECT_WHALE_ERROR(open(), path());
  }
  test::write_bytes(path(), bytes.substr(0, bytes.size() - 1000));
  EXPECT_WHALE_ERROR(open(), path(), "tensor 'blk.", "past the end", "file truncated?");
}

TEST_F(BadGguf, HugeTensorCountFailsBeforeAllocating) {
  write(Raw().header(1ull << 60, 0));
  EXPECT_WHALE_ERROR(open(), path(), "tensor count 1152921504606846976", "cannot fit");
}

TEST_F(BadGguf, HugeKeyValueCountFailsBeforeAllocating) {
  write(Raw().header(0, 1ull << 60));
  EXPECT_WHALE_ERROR(open(), path(), "key/value count", "cannot fit");
}

TEST_F(BadGguf, StringLengthPastTheEndNamesTheKey) {
  write(Raw().header(0, 1).str("general.name").u32(8).u64(1ull << 62).str("x"));
  EXPECT_WHALE_ERROR(open(), path(), "'general.name'", "string length 4611686018427387904");
}

TEST_F(BadGguf, KeyLengthPastTheEnd) {
  write(Raw().header(0, 1).u64(1000).u32(0).u64(0));
  EXPECT_WHALE_ERROR(open(), path(), "key/value 0", "string length 1000");
}

TEST_F(BadGguf, HugeArrayCountNamesTheKeyBeforeAllocating) {
  write(Raw().header(0, 1).str("tokenizer.ggml.tokens").u32(9).u32(8).u64(1ull << 60).u64(0));
  EXPECT_WHALE_ERROR(open(), path(), "'tokenizer.ggml.tokens'", "array element count",
                     "cannot fit");
}

TEST_F(BadGguf, UnknownValueTypeNamesTheKey) {
  write(Raw().header(0, 1).str("odd").u32(13).u32(0));
  EXPECT_WHALE_ERROR(open(), path(), "'odd'", "unknown value type id 13");
}

TEST_F(BadGguf, UnknownArrayElementTypeNamesTheKey) {
  write(Raw().header(0, 1).str("odd").u32(9).u32(77).u64(0));
  EXPECT_WHALE_ERROR(open(), path(), "'odd'", "unknown array element type id 77");
}

TEST_F(BadGguf, BoolOtherThanZeroOrOneNamesTheKey) {
  Raw raw;
  raw.header(0, 1).str("flag").u32(7).put<std::uint8_t>(2);
  write(raw);
  EXPECT_WHALE_ERROR(open(), path(), "'flag'", "bool value is 2");
}

TEST_F(BadGguf, ArraysNestedTooDeepNameTheKey) {
  Raw raw;
  raw.header(0, 1).str("deep").u32(9);
  for (int i = 0; i < 20; ++i) raw.u32(9).u64(1);
  raw.u32(4).u64(0);
  write(raw);
  EXPECT_WHALE_ERROR(open(), path(), "'deep'", "nested more than 8 deep");
}

TEST_F(BadGguf, DuplicateKeyIsNamed) {
  write(Raw().header(0, 2).kv_u32("dup.key", 1).kv_u32("dup.key", 2));
  EXPECT_WHALE_ERROR(open(), path(), "'dup.key'", "twice");
}

TEST_F(BadGguf, AlignmentNotAPowerOfTwo) {
  write(Raw().header(0, 1).kv_u32("general.alignment", 48));
  EXPECT_WHALE_ERROR(open(), path(), "general.alignment", "48", "power of two");
}

TEST_F(BadGguf, AlignmentZero) {
  write(Raw().header(0, 1).kv_u32("general.alignment", 0));
  EXPECT_WHALE_ERROR(open(), path(), "general.alignment", "is 0", "power of two");
}

TEST_F(BadGguf, AlignmentOfTheWrongType) {
  write(Raw().header(0, 1).str("general.alignment").u32(8).str("32"));
  EXPECT_WHALE_ERROR(open(), path(), "general.alignment", "is string");
}

TEST_F(BadGguf, DuplicateTensorNameIsNamed) {
  write(Raw().header(2, 0).tensor("w", {8}, kF32, 0).tensor("w", {8}, kF32, 32).data(64));
  EXPECT_WHALE_ERROR(open(), path(), "tensor 'w'", "twice");
}

TEST_F(BadGguf, TooManyDimsNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {1, 1, 1, 1, 1}, kF32, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "5 dims", "1 to 4");
}

TEST_F(BadGguf, NoDimsNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {}, kF32, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "0 dims");
}

TEST_F(BadGguf, NegativeDimNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {~0ull}, kF32, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "dim 0", "below 2^63");
}

TEST_F(BadGguf, ElementCountOverflowNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {1ull << 32, 1ull << 32}, kF32, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "2^63 elements");
}

TEST_F(BadGguf, SizeBeyondTheFileNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {1ull << 30, 1ull << 31}, kF32, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "9223372036854775808 bytes", "past the end");
}

TEST_F(BadGguf, SizeBeyondAnyFileNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {1ull << 31, 1ull << 31}, kF32, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "larger than any file");
}

TEST_F(BadGguf, RowSizeOverflowNamesTheTensor) {
  constexpr std::uint32_t kF64 = 28;  // 2^61 values of 8 bytes: a row of 2^64 bytes
  write(Raw().header(1, 0).tensor("w", {1ull << 61}, kF64, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "F64 [2305843009213693952] is larger than any file");
}

TEST_F(BadGguf, UnsupportedTypeNamesTheTensorTheTypeAndWhatIsSupported) {
  write(Raw().header(1, 0).tensor("blk.0.ffn_down.weight", {256}, kIQ2_XXS, 0).data(256));
  EXPECT_WHALE_ERROR(open(), path(), "'blk.0.ffn_down.weight'", "IQ2_XXS", "id 16",
                     "supported: F32, F16", "Q8_0", "BF16");
}

TEST_F(BadGguf, UnknownTypeIdNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {8}, 99, 0).data(32));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "unknown", "id 99");
}

TEST_F(BadGguf, RowNotAWholeNumberOfBlocksNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {33, 2}, kQ8_0, 0).data(256));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "ne[0] = 33", "Q8_0 block size 32");
}

TEST_F(BadGguf, MisalignedOffsetNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {4}, kF32, 4).data(64));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "offset 4", "alignment 32");
}

TEST_F(BadGguf, TensorDataBeyondTheFileNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {64}, kF32, 0).data(100));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "256 bytes at offset 0", "past the end");
}

TEST_F(BadGguf, HugeOffsetNamesTheTensor) {
  write(Raw().header(1, 0).tensor("w", {4}, kF32, ~0ull << 5).data(64));
  EXPECT_WHALE_ERROR(open(), path(), "'w'", "past the end");
}

TEST_F(BadGguf, OverlappingTensorsAreNamed) {
  write(Raw().header(2, 0).tensor("a", {16}, kF32, 0).tensor("b", {8}, kF32, 32).data(96));
  EXPECT_WHALE_ERROR(open(), path(), "'a'", "'b'", "overlap");
}

TEST_F(BadGguf, ZeroDimIsAnEmptyTensorThatOverlapsNothing) {
  write(Raw().header(2, 0).tensor("empty", {0, 8}, kF32, 0).tensor("a", {8}, kF32, 0).data(32));
  const GgufModel m(path());
  EXPECT_EQ(m.tensor("empty").elements(), 0);
  EXPECT_EQ(m.tensor("empty").byte_size(), 0u);
  EXPECT_EQ(m.tensor("a").byte_size(), 32u);
}

TEST_F(BadGguf, SplitCountAboveU16IsNamed) {
  write(Raw().header(0, 1).kv_u32("split.count", 70000));
  EXPECT_WHALE_ERROR(open(), path(), "split.count", "70000", "does not fit");
}

TEST_F(BadGguf, MissingFileIsNamed) {
  EXPECT_WHALE_ERROR(GgufModel{path() + ".absent"}, path() + ".absent", "cannot open");
}

}  // namespace
}  // namespace whale
