#include "model/random_checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include "formats/scalar_formats.h"
#include "io/checkpoint.h"
#include "model/deepseek.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

class TempFolder {
 public:
  explicit TempFolder(const std::string& tag = "") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        fmt::format("whale-{}-{}-{}{}", info->test_suite_name(), info->name(), ::getpid(), tag);
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = fs::temp_directory_path() / name;
    fs::remove_all(path_);
  }
  ~TempFolder() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string golden(const std::string& folder) {
  return std::string(WHALE_TEST_DATA) + "/golden/" + folder;
}

void make(const std::string& folder, const std::string& shape, WeightFormat format,
          std::uint64_t seed = 0, int threads = 2, std::uint64_t max_shard_bytes = 5'000'000'000,
          bool overwrite = false) {
  RandomCheckpointOptions options;
  options.format = format;
  options.seed = seed;
  options.max_shard_bytes = max_shard_bytes;
  options.overwrite = overwrite;
  ThreadPool pool(threads);
  write_random_checkpoint(folder, model_shape(shape), options, pool);
}

std::map<std::string, std::vector<char>> folder_bytes(const std::string& folder) {
  std::map<std::string, std::vector<char>> files;
  for (const auto& e : fs::directory_iterator(folder)) {
    std::ifstream in(e.path(), std::ios::binary);
    files[e.path().filename().string()] = {std::istreambuf_iterator<char>(in),
                                           std::istreambuf_iterator<char>()};
  }
  return files;
}

const char* format_name(WeightFormat f) {
  return f == WeightFormat::kF32 ? "f32" : f == WeightFormat::kBF16 ? "bf16" : "fp8";
}

// ---------------------------------------------------------------------------------------------

}  // namespace

// Readable parameters in ctest's test names.
void PrintTo(WeightFormat f, std::ostream* os) {
  *os << format_name(f);
}

namespace {

class TinyShapeTest : public ::testing::TestWithParam<std::tuple<std::string, WeightFormat>> {};

TEST_P(TinyShapeTest, LoadsAndGivesFiniteLogitsWithASaneSpread) {
  const auto& [shape, format] = GetParam();
  TempFolder dir;
  make(dir.path(), shape, format);
  DeepSeekModel model(dir.path());  // validates every tensor against config.json
  EXPECT_EQ(model.config().quantization.has_value(), format == WeightFormat::kFp8);

  const std::vector<std::int32_t> ids = {0, 5, 17, 99, 250, 598, 3, 42, 311, 7};
  ThreadPool pool(2);
  auto cache = model.create_cache(1, static_cast<std::int64_t>(ids.size()), CacheDType::kF32);
  std::vector<BatchToken> batch;
  for (std::size_t i = 0; i < ids.size(); ++i)
    batch.push_back({ids[i], 0, static_cast<std::int64_t>(i), true});
  ForwardResult result;
  model.forward(batch, *cache, pool, {}, result);

  const std::int64_t V = model.summary().vocab_size;
  ASSERT_EQ(result.logits.size(), ids.size() * static_cast<std::size_t>(V));
  for (std::size_t row = 0; row < ids.size(); ++row) {
    double sum = 0, sum_sq = 0;
    for (std::int64_t v = 0; v < V; ++v) {
      const float x = result.logits[row * V + v];
      ASSERT_TRUE(std::isfinite(x)) << "row " << row << " vocab " << v;
      sum += x;
      sum_sq += double{x} * x;
    }
    const double mean = sum / V, stddev = std::sqrt(sum_sq / V - mean * mean);
    EXPECT_GT(stddev, 0.3) << "row " << row;
    EXPECT_LT(stddev, 30.0) << "row " << row;
  }
}

std::string tiny_case_name(
    const ::testing::TestParamInfo<std::tuple<std::string, WeightFormat>>& param_info) {
  std::string name =
      std::get<0>(param_info.param) + "_" + format_name(std::get<1>(param_info.param));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllTinyShapes, TinyShapeTest,
                         ::testing::Combine(::testing::Values("v2-lite-tiny", "v2-tiny", "v3-tiny"),
                                            ::testing::Values(WeightFormat::kF32,
                                                              WeightFormat::kBF16,
                                                              WeightFormat::kFp8)),
                         tiny_case_name);

// ---------------------------------------------------------------------------------------------

TEST(RandomCheckpointTest, TinyShapesHaveExactlyTheGoldenTensorsDtypesAndShapes) {
  const std::tuple<const char*, WeightFormat, const char*> cases[] = {
      {"v2-lite-tiny", WeightFormat::kBF16, "v2-lite-tiny"},
      {"v2-tiny", WeightFormat::kBF16, "v2-tiny"},
      {"v3-tiny", WeightFormat::kFp8, "v3-tiny-fp8"},
      {"v3-tiny", WeightFormat::kBF16, "v3-tiny-bf16"},
  };
  for (const auto& [shape, format, folder] : cases) {
    SCOPED_TRACE(folder);
    const Checkpoint reference(golden(folder));
    const auto ours = random_checkpoint_tensors(model_shape(shape), format);
    ASSERT_EQ(ours.size(), reference.tensors().size());
    for (const TensorSpec& t : ours) {
      const TensorInfo* g = reference.find(t.name);
      ASSERT_NE(g, nullptr) << t.name << " is not in the golden checkpoint";
      EXPECT_EQ(dtype_name(t.dtype), dtype_name(g->dtype)) << t.name;
      EXPECT_EQ(t.shape, g->shape) << t.name;
    }
  }
}

TEST(RandomCheckpointTest, TinyConfigsEqualTheGoldenConfigsOnEveryArchitectureField) {
  const std::tuple<const char*, WeightFormat, const char*> cases[] = {
      {"v2-lite-tiny", WeightFormat::kBF16, "v2-lite-tiny"},
      {"v2-tiny", WeightFormat::kBF16, "v2-tiny"},
      {"v3-tiny", WeightFormat::kFp8, "v3-tiny-fp8"},
      {"v3-tiny", WeightFormat::kBF16, "v3-tiny-bf16"},
  };
  for (const auto& [shape, format, folder] : cases) {
    SCOPED_TRACE(folder);
    const nlohmann::json ours =
        deepseek_config_to_json(config_for_format(model_shape(shape), format));
    const nlohmann::json reference = read_json_file(golden(folder) + "/config.json");
    for (const auto& [key, value] : reference.items()) {
      if (key == "transformers_version") continue;  // which transformers saved it
      ASSERT_TRUE(ours.contains(key)) << key;
      EXPECT_EQ(ours[key], value) << key;  // numbers compare by value: 40 == 40.0
    }
    for (const auto& [key, value] : ours.items())
      EXPECT_TRUE(reference.contains(key)) << "extra key " << key;
  }
}

TEST(RandomCheckpointTest, SameSeedGivesIdenticalBytesWhateverTheThreadCount) {
  TempFolder a("a"), b("b"), c("c");
  make(a.path(), "v3-tiny", WeightFormat::kFp8, 7, 1);
  make(b.path(), "v3-tiny", WeightFormat::kFp8, 7, 3);
  make(c.path(), "v3-tiny", WeightFormat::kFp8, 8, 2);
  const auto bytes_a = folder_bytes(a.path());
  EXPECT_EQ(bytes_a, folder_bytes(b.path()));
  const auto bytes_c = folder_bytes(c.path());
  ASSERT_EQ(bytes_c.size(), bytes_a.size());
  EXPECT_EQ(bytes_c.at("config.json"), bytes_a.at("config.json"));
  EXPECT_NE(bytes_c.at("model.safetensors"), bytes_a.at("model.safetensors"));
}

TEST(RandomCheckpointTest, ShardingSplitsFilesButNotTheWeights) {
  TempFolder one("one"), many("many");
  make(one.path(), "v3-tiny", WeightFormat::kFp8);
  make(many.path(), "v3-tiny", WeightFormat::kFp8, 0, 2, 400'000);
  EXPECT_TRUE(fs::exists(many.file("model.safetensors.index.json")));
  EXPECT_FALSE(fs::exists(many.file("model.safetensors")));
  const Checkpoint a(one.path()), b(many.path());
  EXPECT_EQ(a.shard_count(), 1u);
  EXPECT_GE(b.shard_count(), 3u);
  for (const auto& f : fs::directory_iterator(many.path()))
    if (f.path().extension() == ".safetensors") {
      EXPECT_LE(fs::file_size(f.path()), 400'000u + 32'768u);  // data limit + header
    }
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& [name, t] : a.tensors()) {
    const TensorInfo* u = b.find(name);
    ASSERT_NE(u, nullptr) << name;
    EXPECT_TRUE(std::equal(t->data.begin(), t->data.end(), u->data.begin(), u->data.end())) << name;
  }
  DeepSeekModel model(many.path());
  EXPECT_GT(model.summary().mtp_parameters, 0);
}

TEST(RandomCheckpointTest, EveryFp8BlockUsesTheFullE4m3Range) {
  TempFolder dir;
  make(dir.path(), "v3-tiny", WeightFormat::kFp8);
  const Checkpoint checkpoint(dir.path());
  int fp8_tensors = 0;
  for (const auto& [name, t] : checkpoint.tensors()) {
    if (t->dtype != DType::kF8E4M3) continue;
    ++fp8_tensors;
    const TensorInfo* scale = checkpoint.find(name + "_scale_inv");
    ASSERT_NE(scale, nullptr) << name;
    const std::int64_t rows = t->shape[0], cols = t->shape[1], bc = scale->shape[1];
    std::vector<float> amax(static_cast<std::size_t>(scale->numel()), 0.0f);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) {
        float& m = amax[static_cast<std::size_t>(r / 128 * bc + c / 128)];
        m = std::max(m, std::fabs(fp8_e4m3_to_f32(t->data[r * cols + c])));
      }
    const auto* scales = reinterpret_cast<const float*>(scale->data.data());
    for (std::size_t b = 0; b < amax.size(); ++b) {
      EXPECT_EQ(amax[b], 448.0f) << name << " block " << b;  // scale = block amax / 448
      EXPECT_GT(scales[b], 0.0f);
    }
  }
  EXPECT_EQ(fp8_tensors, 4 * 5 + 3 + 3 * (16 * 3 + 3));  // 4 attention blocks, 1 dense, 3 MoE
}

double tensor_stddev(const TensorInfo& t, double* mean_out = nullptr) {
  double sum = 0, sum_sq = 0;
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, t.data.data() + 2 * i, 2);
    const double x = bf16_to_f32(h);
    sum += x;
    sum_sq += x * x;
  }
  const double mean = sum / static_cast<double>(n);
  if (mean_out != nullptr) *mean_out = mean;
  return std::sqrt(sum_sq / static_cast<double>(n) - mean * mean);
}

TEST(RandomCheckpointTest, WeightsAreDrawnWithTheIntendedScales) {
  TempFolder dir;
  make(dir.path(), "v3-tiny", WeightFormat::kBF16);
  const Checkpoint ck(dir.path());
  const double H = 128;
  const std::pair<const char*, double> expected_std[] = {
      {"model.embed_tokens.weight", 1.0},
      {"lm_head.weight", 3 / std::sqrt(H)},
      {"model.layers.1.mlp.gate.weight", 2 / std::sqrt(H)},
      {"model.layers.0.mlp.down_proj.weight", 1 / std::sqrt(256.0)},
      {"model.layers.2.self_attn.q_b_proj.weight", 1 / std::sqrt(160.0)},
      {"model.layers.3.eh_proj.weight", 1 / std::sqrt(2 * H)},
  };
  for (const auto& [name, stddev] : expected_std) {
    const TensorInfo* t = ck.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_NEAR(tensor_stddev(*t), stddev, 0.1 * stddev) << name;
  }
  double mean = 0;
  const double norm_std = tensor_stddev(*ck.find("model.layers.0.input_layernorm.weight"), &mean);
  EXPECT_NEAR(mean, 1.0, 0.05);
  EXPECT_NEAR(norm_std, 0.1, 0.03);
  // The MTP module's embedding and head are copies of the main model's, as in the release.
  for (const auto& [copy, original] :
       {std::pair{"model.layers.3.embed_tokens.weight", "model.embed_tokens.weight"},
        std::pair{"model.layers.3.shared_head.head.weight", "lm_head.weight"}}) {
    const TensorInfo *a = ck.find(copy), *b = ck.find(original);
    EXPECT_TRUE(std::equal(a->data.begin(), a->data.end(), b->data.begin(), b->data.end())) << copy;
  }
  const TensorInfo* bias = ck.find("model.layers.1.mlp.gate.e_score_correction_bias");
  EXPECT_EQ(bias->dtype, DType::kF32);
}

TEST(RandomCheckpointTest, RefusesANonEmptyFolderUnlessOverwriting) {
  TempFolder dir;
  fs::create_directories(dir.path());
  std::ofstream(dir.file("tokenizer.json")) << "{}";
  try {
    make(dir.path(), "v2-tiny", WeightFormat::kBF16);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  // Sharded first, then a single file over it: no stale shard or index may survive.
  make(dir.path(), "v2-tiny", WeightFormat::kBF16, 0, 2, 300'000, true);
  EXPECT_TRUE(fs::exists(dir.file("model.safetensors.index.json")));
  make(dir.path(), "v2-lite-tiny", WeightFormat::kBF16, 0, 2, 5'000'000'000, true);
  EXPECT_TRUE(fs::exists(dir.file("tokenizer.json")));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors.index.json")));
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir.path()))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files,
            (std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json"}));
  DeepSeekModel model(dir.path());
  EXPECT_FALSE(model.config().q_lora_rank.has_value());
}

TEST(RandomCheckpointTest, UnknownNamesAreErrorsListingTheValidOnes) {
  try {
    model_shape("v4");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    for (const auto& name : model_shape_names())
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
  try {
    parse_weight_format("int4");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32, bf16, fp8"), std::string::npos) << e.what();
  }
}

TEST(RandomCheckpointTest, EveryShapeHasAValidConfigThatRoundTrips) {
  for (const auto& name : model_shape_names()) {
    SCOPED_TRACE(name);
    const DeepSeekConfig c = config_for_format(model_shape(name), WeightFormat::kFp8);
    const DeepSeekConfig back = parse_deepseek_config(deepseek_config_to_json(c), name);
    EXPECT_EQ(deepseek_config_to_json(back), deepseek_config_to_json(c));
  }
}

std::int64_t count_parameters(const std::string& shape) {
  std::int64_t n = 0;
  for (const auto& t : random_checkpoint_tensors(model_shape(shape), WeightFormat::kBF16))
    n += t.numel();
  return n;
}

TEST(RandomCheckpointTest, LargeShapesHaveTheirPublishedSizes) {
  // docs/deepseek-v2-v3.md section 12.1; the V3 files add the MTP module (11.6B unique) and
  // its copies of the embedding and head (2 x 0.93B).
  EXPECT_NEAR(count_parameters("v2-lite") / 1e9, 15.71, 0.01);
  EXPECT_NEAR(count_parameters("v3") / 1e9, 671.0 + 11.6 + 2 * 0.927, 0.2);
  EXPECT_NEAR(count_parameters("v3-bench") / 1e9, 1.367, 0.005);
  EXPECT_NEAR(count_parameters("demo") / 1e6, 75.5, 0.1);
  std::uint64_t bench_bytes = 0;
  for (const auto& t : random_checkpoint_tensors(model_shape("v3-bench"), WeightFormat::kBF16))
    bench_bytes += t.bytes();
  EXPECT_NEAR(bench_bytes / 1e9, 2.73, 0.02);
}

}  // namespace
}  // namespace whale
