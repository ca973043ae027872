// whale quantize: a Hugging Face DeepSeek folder becomes the GGUF llama.cpp's converter writes
// (metadata, names, dims, bytes), and its quantized forms run in whale close to the source.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "formats/scalar_formats.h"
#include "io/checkpoint.h"
#include "io/gguf.h"
#include "model/deepseek.h"
#include "model/dense_loader.h"
#include "model/gguf_load.h"
#include "model/golden_support.h"
#include "model/random_checkpoint.h"
#include "support/test_support.h"
#include "text/tokenizer.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

using test::TempDir;
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

std::string golden_gguf(const std::string& file) {
  return std::string(WHALE_TEST_DATA) + "/golden-gguf/" + file;
}

// The golden folders carry no tokenizer; the converter was given the one in golden-gguf/.
void add_tokenizer(const TempDir& dir) {
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(golden_gguf(file), dir.file(file));
}

// A golden folder with the tokenizer, quantized to `type`; returns the GGUF's path.
std::string quantize_golden(const std::string& folder, const std::string& type,
                            const TempDir& dir) {
  test::copy_golden(folder, dir);
  add_tokenizer(dir);
  const std::string out = dir.file(folder + "." + type + ".gguf");
  const auto [code, output] =
      run_whale("quantize " + dir.str() + " --type " + type + " -t 2 --out " + out);
  EXPECT_EQ(code, 0) << output;
  return out;
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type() != b.type()) return false;
  if (const GgufArray* x = a.as_array()) {
    const GgufArray* yp = b.as_array();
    if (yp == nullptr) return false;
    const GgufArray& y = *yp;
    if (x->element_type != y.element_type || x->length != y.length) return false;
    if (!std::equal(x->raw.begin(), x->raw.end(), y.raw.begin(), y.raw.end())) return false;
    if (x->strings != y.strings) return false;
    for (std::size_t i = 0; i < x->arrays.size(); ++i)
      if (!same_value(x->arrays[i], y.arrays[i])) return false;
    return true;
  }
  return std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, GgufArray>)
          return false;
        else
          return v == std::get<T>(b.value);
      },
      a.value);
}

// Our file against the converter's: every key but the name (general.name: the converter
// title-cases the folder name; general.size_label: its size heuristic) with the same type and
// value, the same tensors with the same types, dims and bytes.
void expect_same_gguf(const std::string& ours_path, const std::string& theirs_path) {
  const GgufModel ours(ours_path);
  const GgufModel theirs(theirs_path);
  const std::set<std::string_view> ignored = {"general.name", "general.size_label"};
  std::set<std::string_view> our_keys, their_keys;
  for (const auto& kv : ours.metadata().entries())
    if (!ignored.contains(kv.key)) our_keys.insert(kv.key);
  for (const auto& kv : theirs.metadata().entries()) {
    if (ignored.contains(kv.key)) continue;
    their_keys.insert(kv.key);
    const GgufValue* v = ours.metadata().find(kv.key);
    ASSERT_NE(v, nullptr) << kv.key;
    EXPECT_EQ(v->type_string(), kv.value.type_string()) << kv.key;
    EXPECT_TRUE(same_value(*v, kv.value)) << kv.key;
  }
  EXPECT_EQ(our_keys, their_keys);
  ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
  for (const GgufTensor& t : theirs.tensors()) {
    const GgufTensor* o = ours.find_tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->ggml_type, t.ggml_type) << t.name;
    EXPECT_EQ(o->shape_string(), t.shape_string()) << t.name;
    EXPECT_TRUE(std::equal(o->data.begin(), o->data.end(), t.data.begin(), t.data.end())) << t.name;
  }
}

class QuantizeGoldenBf16Test : public ::testing::TestWithParam<const char*> {};

// bf16 from a BF16 folder is the converter's --outtype bf16 file.
TEST_P(QuantizeGoldenBf16Test, EqualsLlamaCppConverterOutput) {
  const std::string folder = GetParam();
  TempDir dir;
  expect_same_gguf(quantize_golden(folder, "bf16", dir), golden_gguf(folder + ".bf16.gguf"));
}

INSTANTIATE_TEST_SUITE_P(Golden, QuantizeGoldenBf16Test,
                         ::testing::Values("v3-tiny-bf16", "v2-lite-tiny", "v2-tiny"));

// Logits of `got` against `want`, row by row ([positions, vocab]).
struct LogitStats {
  float max_error = 0.0f;         // over every row
  float median_error = 0.0f;      // of the rows' max |error|
  float argmax_agreement = 0.0f;  // fraction of rows with the same argmax
};

LogitStats compare_logits(const std::vector<float>& got, const std::vector<float>& want,
                          std::int64_t vocab) {
  EXPECT_EQ(got.size(), want.size());
  const std::size_t V = static_cast<std::size_t>(vocab),
                    rows = std::min(got.size(), want.size()) / V;
  std::vector<float> row_errors;
  std::size_t same = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    float worst = 0.0f;
    for (std::size_t i = r * V; i < (r + 1) * V; ++i) {
      EXPECT_TRUE(std::isfinite(got[i])) << i;
      worst = std::max(worst, std::fabs(got[i] - want[i]));
    }
    row_errors.push_back(worst);
    const auto g = got.begin() + static_cast<std::ptrdiff_t>(r * V);
    const auto w = want.begin() + static_cast<std::ptrdiff_t>(r * V);
    same += std::max_element(g, g + vocab) - g == std::max_element(w, w + vocab) - w;
  }
  LogitStats s;
  if (rows == 0) return s;
  s.max_error = *std::max_element(row_errors.begin(), row_errors.end());
  std::nth_element(row_errors.begin(), row_errors.begin() + static_cast<std::ptrdiff_t>(rows / 2),
                   row_errors.end());
  s.median_error = row_errors[rows / 2];
  s.argmax_agreement = static_cast<float>(same) / static_cast<float>(rows);
  return s;
}

// The golden cases teacher-forced through `model`, against the reference logits. The tiny golden
// models route near ties (llama.cpp's BF16 run flips one, golden-gguf/README.md), so a quantized
// model flips a few routes and then differs by several logits at those positions: the
// typical (median) row error and the argmax agreement are held, the worst row and the greedy
// continuations only reported.
LogitStats check_against_golden(Model& model, const std::string& folder, const std::string& label) {
  std::vector<float> got, want;
  std::size_t greedy_same = 0, greedy_total = 0, first_same = 0, cases = 0;
  for (const auto& c : golden::load_cases(folder)) {
    const golden::RunOutput out = golden::run_case(model, c.ids, c.prefill, 2);
    got.insert(got.end(), out.logits.begin(), out.logits.end());
    want.insert(want.end(), c.logits.begin(), c.logits.end());
    const std::vector<std::int32_t> prompt(c.ids.begin(), c.ids.begin() + c.greedy_prompt_len);
    const auto tokens = golden::greedy(model, prompt, static_cast<std::int64_t>(c.greedy.size()));
    std::size_t k = 0;
    while (k < tokens.size() && tokens[k] == c.greedy[k]) ++k;
    greedy_same += k;
    greedy_total += c.greedy.size();
    first_same += k > 0;
    ++cases;
  }
  const LogitStats s = compare_logits(got, want, model.summary().vocab_size);
  std::printf(
      "[quantize] %s: |logit - golden| median row %.3g, max %.3g; argmax agreement "
      "%.1f%%; greedy tokens before the first difference %zu/%zu, first token %zu/%zu\n",
      label.c_str(), s.median_error, s.max_error, 100.0 * s.argmax_agreement, greedy_same,
      greedy_total, first_same, cases);
  return s;
}

class QuantizeGoldenQ8Test : public ::testing::TestWithParam<const char*> {};

// Golden logits reach |12.5..14|. A wrong tensor layout gives errors of that size on every row.
TEST_P(QuantizeGoldenQ8Test, LoadsInWhaleCloseToTheReference) {
  const std::string folder = GetParam();
  TempDir dir;
  const auto model = load_gguf_model(quantize_golden(folder, "q8_0", dir));
  const LogitStats s = check_against_golden(*model, folder, folder + " q8_0");
  EXPECT_LE(s.median_error, 0.5f);
  EXPECT_GE(s.argmax_agreement, 0.85f);
}

INSTANTIATE_TEST_SUITE_P(Golden, QuantizeGoldenQ8Test,
                         ::testing::Values("v3-tiny-bf16", "v3-tiny-fp8", "v2-lite-tiny",
                                           "v2-tiny"));

// Rows that are not a multiple of the type's block: Q4_K (256) falls back to Q8_0 (32), rows of
// 16 (the tiny experts' ffn_down) to F16; norms and the router stay F32; MTP layers are dropped.
TEST(QuantizeFallbackTest, ShortRowsTakeTheDocumentedFallback) {
  TempDir dir;
  test::copy_golden("v3-tiny-bf16", dir);
  add_tokenizer(dir);
  nlohmann::json config = test::read_json(dir.file("tokenizer_config.json"));
  config["chat_template"] = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
  test::write_json(dir.file("tokenizer_config.json"), config);
  const std::string out = dir.file("q4_k.gguf");
  const auto [code, output] = run_whale("quantize " + dir.str() + " --type q4_k --out " + out);
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("dropped 68 MTP tensors (layers >= 3)"), std::string::npos) << output;
  const GgufModel gguf(out);
  EXPECT_EQ(gguf.metadata().get_u32("general.file_type"), 15u);             // MOSTLY_Q4_K_M
  EXPECT_EQ(gguf.tensor("blk.1.attn_output.weight").dtype, DType::kQ8_0);   // rows of 128
  EXPECT_EQ(gguf.tensor("blk.1.ffn_down_exps.weight").dtype, DType::kF16);  // rows of 16
  EXPECT_EQ(gguf.tensor("blk.1.ffn_gate_inp.weight").dtype, DType::kF32);
  EXPECT_EQ(gguf.tensor("blk.1.exp_probs_b.bias").dtype, DType::kF32);
  EXPECT_EQ(gguf.tensor("output_norm.weight").dtype, DType::kF32);
  EXPECT_EQ(gguf.find_tensor("blk.3.attn_norm.weight"), nullptr);
  EXPECT_EQ(gguf.metadata().get_u32("deepseek2.block_count"), 3u);
  EXPECT_EQ(gguf.metadata().get_string("tokenizer.chat_template"),
            config["chat_template"].get<std::string>());
}

// f32 output is exact: the split, stacking and names reproduce the reference to float rounding.
TEST(QuantizeF32Test, ReproducesTheGoldenLogitsAndRoutes) {
  for (const char* folder : {"v3-tiny-bf16", "v2-tiny"}) {
    TempDir dir;
    const auto model = load_gguf_model(quantize_golden(folder, "f32", dir));
    for (const auto& c : golden::load_cases(folder)) {
      const golden::RunOutput out = golden::run_case(*model, c.ids, c.prefill, 2);
      const LogitStats s = compare_logits(out.logits, c.logits, model->summary().vocab_size);
      EXPECT_LE(s.max_error, golden::kTolerance) << folder << "/" << c.name;
      EXPECT_EQ(out.experts, c.experts) << folder << "/" << c.name;
    }
  }
}

// FP8 with 128x128 block scales is dequantized before re-encoding: BF16 of those values.
TEST(QuantizeFp8Test, Bf16FromFp8FolderIsTheDequantizedWeightsRounded) {
  TempDir dir;
  const std::string path = quantize_golden("v3-tiny-fp8", "bf16", dir);
  const auto model = load_gguf_model(path);
  const LogitStats s = check_against_golden(*model, "v3-tiny-fp8", "v3-tiny-fp8 bf16");
  EXPECT_LE(s.median_error, 0.5f);
  EXPECT_GE(s.argmax_agreement, 0.85f);
  // The F32 file llama.cpp's converter made from the dequantized folder, rounded to BF16.
  const GgufModel ours(path), f32(golden_gguf("v3-tiny-fp8.f32.gguf"));
  for (const char* name : {"blk.1.ffn_up_exps.weight", "blk.2.attn_k_b.weight", "output.weight"}) {
    const GgufTensor& o = ours.tensor(name);
    const GgufTensor& t = f32.tensor(name);
    ASSERT_EQ(o.shape_string(), t.shape_string());
    for (std::int64_t i = 0; i < t.elements(); ++i) {
      float want;
      std::uint16_t got;
      std::memcpy(&want, t.data.data() + 4 * i, 4);
      std::memcpy(&got, o.data.data() + 2 * i, 2);
      ASSERT_EQ(got, f32_to_bf16(want)) << name << " " << i;
    }
  }
}

// The tokenizer written is the one of tokenizer.json: same ids for text with added tokens.
TEST(QuantizeTokenizerTest, GgufTokenizerEncodesAsTokenizerJson) {
  TempDir dir;
  const GgufModel gguf(quantize_golden("v2-lite-tiny", "q8_0", dir));
  const Tokenizer from_gguf = Tokenizer::from_gguf(gguf_vocabulary(gguf.metadata()));
  const Tokenizer from_json = Tokenizer::load(dir.str());
  const std::string text = "<｜begin▁of▁sentence｜>Hello world, 12345 tin ab!";
  EXPECT_EQ(from_gguf.encode(text), from_json.encode(text));
}

// The pre-tokenizer is named from tokenizer.json's Split regexes by the table whale reads GGUF
// tokenizers with; an unknown one is refused.
TEST(QuantizeTokenizerTest, PreTokenizerNamedFromItsSplitPatterns) {
  const std::vector<std::string> none;
  EXPECT_EQ(gguf_pre_tokenizer_name(none, true), "gpt2");
  EXPECT_EQ(gguf_pre_tokenizer_name(none, false), std::nullopt);
  const std::vector<std::string> qwen2 = {
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  EXPECT_EQ(gguf_pre_tokenizer_name(qwen2, false), "qwen2");
  const std::vector<std::string> odd = {"\\p{N}+"};
  EXPECT_EQ(gguf_pre_tokenizer_name(odd, false), std::nullopt);

  TempDir dir;
  test::copy_golden("v3-tiny-bf16", dir);
  add_tokenizer(dir);
  nlohmann::json tok = test::read_json(dir.file("tokenizer.json"));
  tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{N}{1,4}";
  test::write_json(dir.file("tokenizer.json"), tok);
  const auto [code, output] =
      run_whale("quantize " + dir.str() + " --type q8_0 --out " + dir.file("x.gguf"));
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("matches none of the pre-tokenizers whale knows"), std::string::npos)
      << output;
}

// ---------------------------------------------------------------------------------------------
// Qwen2 and Llama (tests/data/golden-dense): the R1-Distill architectures.

std::string golden_dense(const std::string& folder, const std::string& file) {
  return std::string(WHALE_TEST_DATA) + "/golden-dense/" + folder + "/" + file;
}

// A golden-dense folder's model files quantized to `type`; returns the GGUF's path.
std::string quantize_golden_dense(const std::string& folder, const std::string& type,
                                  const TempDir& dir) {
  test::copy_golden_dense(folder, dir);
  const std::string out = dir.file(folder + "." + type + ".gguf");
  const auto [code, output] =
      run_whale("quantize " + dir.str() + " --type " + type + " -t 2 --out " + out);
  EXPECT_EQ(code, 0) << output;
  return out;
}

class QuantizeDenseTest : public ::testing::TestWithParam<const char*> {};

// The converter's --outtype bf16 file, key for key and byte for byte: for llama-tiny that takes
// the q/k row permutation and the llama3 rope_freqs.weight factors, for both the tokenizer keys
// (pre-tokenizer name, add_sep_token from the post-processor) and generation_config's sampling.
TEST_P(QuantizeDenseTest, Bf16EqualsLlamaCppConverterOutput) {
  const std::string folder = GetParam();
  TempDir dir;
  expect_same_gguf(quantize_golden_dense(folder, "bf16", dir),
                   golden_dense(folder, folder + ".bf16.gguf"));
}

// whale's Q8_0 file computes the reference logits within the tolerance the dense GGUF tests
// (tests/model/gguf_golden_test.cpp) hold llama.cpp's Q8_0 file to; it is in fact that file
// (llama-quantize from the converter's F32 file): same keys, same blocks, byte for byte.
TEST_P(QuantizeDenseTest, Q8ComputesTheReferenceLogitsAsLlamaCppsQ8Does) {
  const std::string folder = GetParam();
  TempDir dir;
  const std::string path = quantize_golden_dense(folder, "q8_0", dir);
  const GgufModel gguf(path);
  EXPECT_EQ(gguf.metadata().get_u32("general.file_type"), 7u);
  EXPECT_EQ(gguf.tensor("blk.0.attn_q.weight").dtype, DType::kQ8_0);
  EXPECT_EQ(gguf.tensor("token_embd.weight").dtype, DType::kQ8_0);
  EXPECT_EQ(gguf.tensor("blk.0.attn_norm.weight").dtype, DType::kF32);
  expect_same_gguf(path, golden_dense(folder, folder + ".q8_0.gguf"));
  const auto model = load_gguf_model(path);
  golden::check_dense_golden(*model, folder, 0.25f, "quantize " + folder + " q8_0");
}

INSTANTIATE_TEST_SUITE_P(GoldenDense, QuantizeDenseTest,
                         ::testing::Values("qwen2-tiny", "llama-tiny"), [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// Without the permutation llama.cpp (adjacent-pair RoPE) would rotate the wrong pairs: the
// written q/k rows are the Hugging Face rows reordered per head, (h, j, i) -> (h, i, j).
TEST(QuantizeDenseLlamaTest, QueryAndKeyRowsArePermutedPerHead) {
  TempDir dir;
  const GgufModel gguf(quantize_golden_dense("llama-tiny", "f32", dir));
  const Checkpoint ckpt(dir.str());
  for (const auto& [name, heads] : {std::pair{"q", 8}, std::pair{"k", 2}}) {
    const TensorInfo& hf = *ckpt.find(fmt::format("model.layers.1.self_attn.{}_proj.weight", name));
    const GgufTensor& t = gguf.tensor(fmt::format("blk.1.attn_{}.weight", name));
    const std::int64_t rows = hf.shape[0], cols = hf.shape[1], head_dim = rows / heads;
    ASSERT_EQ(t.shape_string(), fmt::format("[{}, {}]", cols, rows));
    int moved = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t h = r / head_dim, i = (r % head_dim) / 2, j = r % 2;
      const std::int64_t source = h * head_dim + j * (head_dim / 2) + i;
      moved += source != r;
      for (std::int64_t c = 0; c < cols; ++c) {
        std::uint16_t bf16;
        float got;
        std::memcpy(&bf16, hf.data.data() + 2 * (source * cols + c), 2);
        std::memcpy(&got, t.data.data() + 4 * (r * cols + c), 4);
        ASSERT_EQ(got, bf16_to_f32(bf16)) << name << " row " << r << " col " << c;
      }
    }
    EXPECT_GT(moved, rows / 2);
  }
  // Qwen2 runs as NEOX in llama.cpp: its rows stay in place.
  TempDir qwen;
  const GgufModel q(quantize_golden_dense("qwen2-tiny", "bf16", qwen));
  const Checkpoint qckpt(qwen.str());
  const TensorInfo& hf = *qckpt.find("model.layers.0.self_attn.q_proj.weight");
  const GgufTensor& t = q.tensor("blk.0.attn_q.weight");
  EXPECT_TRUE(std::equal(hf.data.begin(), hf.data.end(), t.data.begin(), t.data.end()));
}

// Recent transformers write the template to chat_template.jinja; gguf-py reads it when
// tokenizer_config.json has none.
TEST(QuantizeDenseTokenizerTest, ChatTemplateFromChatTemplateJinja) {
  TempDir dir;
  test::copy_golden_dense("qwen2-tiny", dir);
  nlohmann::json config = test::read_json(dir.file("tokenizer_config.json"));
  config.erase("chat_template");
  test::write_json(dir.file("tokenizer_config.json"), config);
  const std::string jinja =
      "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}";
  test::write_bytes(dir.file("chat_template.jinja"), jinja);
  const std::string out = dir.file("x.gguf");
  const auto [code, output] = run_whale("quantize " + dir.str() + " --type q8_0 --out " + out);
  ASSERT_EQ(code, 0) << output;
  EXPECT_EQ(GgufModel(out).metadata().get_string("tokenizer.chat_template"), jinja);
}

// Bad dense folders: one error naming the file and the field or tensor.
TEST(QuantizeDenseErrorsTest, OneClearErrorEach) {
  {
    TempDir dir;
    test::copy_golden_dense("qwen2-tiny", dir);
    nlohmann::json config = test::read_json(dir.file("config.json"));
    config["model_type"] = "mistral";
    test::write_json(dir.file("config.json"), config);
    const auto [code, output] =
        run_whale("quantize " + dir.str() + " --type q8_0 --out " + dir.file("x.gguf"));
    EXPECT_NE(code, 0);
    EXPECT_NE(output.find("config.json: field 'model_type' is 'mistral'"), std::string::npos)
        << output;
    EXPECT_FALSE(fs::exists(dir.file("x.gguf")));
  }
  {
    // A tensor missing from the weights.
    TempDir dir;
    test::copy_golden_dense("llama-tiny", dir);
    auto image = test::SafetensorsImage::read(dir.file("model.safetensors"));
    image.header.erase("model.layers.1.mlp.up_proj.weight");
    image.write(dir.file("model.safetensors"));
    const auto [code, output] =
        run_whale("quantize " + dir.str() + " --type q8_0 --out " + dir.file("x.gguf"));
    EXPECT_NE(code, 0);
    EXPECT_NE(output.find("tensor 'model.layers.1.mlp.up_proj.weight' is missing"),
              std::string::npos)
        << output;
    EXPECT_FALSE(fs::exists(dir.file("x.gguf")));
  }
}

// A model whose rows are multiples of 256 (so Q4_K/Q6_K apply everywhere), from make-model's
// random BF16 weights; the quantized GGUF's logits against the folder's own.
DeepSeekConfig k_quant_shape() {
  DeepSeekConfig c = model_shape("v3-tiny");
  c.hidden_size = 256;
  c.intermediate_size = 512;
  c.moe_intermediate_size = 256;
  c.num_hidden_layers = 2;
  c.num_nextn_predict_layers = 0;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 2;
  c.q_lora_rank = 256;
  c.kv_lora_rank = 256;
  c.qk_nope_head_dim = 256;
  c.qk_rope_head_dim = 64;
  c.v_head_dim = 256;
  c.n_routed_experts = 8;
  c.n_group = 4;
  c.topk_group = 2;
  c.num_experts_per_tok = 2;
  c.first_k_dense_replace = 1;
  return c;
}

class QuantizeKQuantTest : public ::testing::TestWithParam<std::pair<const char*, float>> {};

TEST_P(QuantizeKQuantTest, LogitsCloseToTheSourceModel) {
  const auto [type, bound] = GetParam();
  TempDir dir;
  const std::string folder = dir.file("model");
  {
    ThreadPool pool(2);
    RandomCheckpointOptions options;
    options.seed = 7;
    write_random_checkpoint(folder, k_quant_shape(), options, pool);
  }
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(golden_gguf(file), folder + "/" + file);
  const std::string out = dir.file(std::string(type) + ".gguf");
  const auto [code, output] =
      run_whale(fmt::format("quantize {} --type {} -t 2 --out {}", folder, type, out));
  ASSERT_EQ(code, 0) << output;
  // Every matrix but the F32 router is the requested type or Q6_K (the Q4_K_M mix).
  const GgufModel gguf(out);
  for (const GgufTensor& t : gguf.tensors()) {
    if (t.n_dims == 1 || t.name.ends_with("ffn_gate_inp.weight")) {
      EXPECT_EQ(t.dtype, DType::kF32) << t.name;
      continue;
    }
    if (std::string(type) != "q4_k" && std::string(type) != "q6_k") continue;
    const bool q6 =
        std::string(type) == "q6_k" ||
        (t.name == "output.weight" || t.name.find("attn_v_b") != std::string_view::npos ||
         t.name.find("ffn_down") != std::string_view::npos);
    EXPECT_EQ(t.dtype, q6 ? DType::kQ6_K : DType::kQ4_K) << t.name;
  }

  DeepSeekModel source(folder);
  const auto quantized = load_gguf_model(out);
  const std::vector<std::int32_t> ids = {0, 17, 400, 33, 250, 9, 512, 77};
  const golden::RunOutput want = golden::run_case(source, ids, 4, 2);
  const golden::RunOutput got = golden::run_case(*quantized, ids, 4, 2);
  float scale = 0.0f;
  for (const float v : want.logits) scale = std::max(scale, std::fabs(v));
  const LogitStats s = compare_logits(got.logits, want.logits, source.summary().vocab_size);
  std::printf(
      "[quantize] random 256-row model %s: |logit error| median row %.3g, max %.3g "
      "(max |logit| %.3g); argmax agreement %.1f%%\n",
      type, s.median_error, s.max_error, scale, 100.0 * s.argmax_agreement);
  EXPECT_LE(s.median_error, bound * scale);
}

INSTANTIATE_TEST_SUITE_P(KQuants, QuantizeKQuantTest,
                         ::testing::Values(std::pair<const char*, float>{"f32", 1e-5f},
                                           std::pair<const char*, float>{"q8_0", 0.05f},
                                           std::pair<const char*, float>{"q6_k", 0.08f},
                                           std::pair<const char*, float>{"q4_k", 0.25f}));

// Dense models whose rows are multiples of 256 (so Q4_K/Q6_K apply, and Llama's permuted q/k
// rows are re-encoded rather than copied), random BF16 weights with the golden-dense tokenizers:
// the GGUF's logits against the Hugging Face folder's own, through whale's two loaders.
struct DenseKQuant {
  const char* golden;  // the golden-dense folder lending config and tokenizer
  const char* type;
  float bound;  // median row error, relative to max |logit|
};

class QuantizeDenseKQuantTest : public ::testing::TestWithParam<DenseKQuant> {};

TEST_P(QuantizeDenseKQuantTest, LogitsCloseToTheSourceModel) {
  const auto [golden, type, bound] = GetParam();
  TempDir dir;
  const std::string folder = dir.file("model");
  nlohmann::json raw = test::read_json(golden_dense(golden, "config.json"));
  raw["hidden_size"] = 256;
  raw["intermediate_size"] = 512;
  raw["num_attention_heads"] = 4;  // head_dim 64
  {
    ThreadPool pool(2);
    RandomCheckpointOptions options;
    options.seed = 11;
    write_random_dense_checkpoint(folder, parse_dense_config(raw, "test config"), options, pool);
  }
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(golden_dense(golden, file), folder + "/" + file);
  const std::string out = dir.file(std::string(type) + ".gguf");
  const auto [code, output] =
      run_whale(fmt::format("quantize {} --type {} -t 2 --out {}", folder, type, out));
  ASSERT_EQ(code, 0) << output;
  const GgufModel gguf(out);
  if (std::string(type) == "q4_k") {
    EXPECT_EQ(gguf.tensor("blk.1.attn_q.weight").dtype, DType::kQ4_K);
    EXPECT_EQ(gguf.tensor("blk.1.attn_v.weight").dtype, DType::kQ6_K);
    EXPECT_EQ(gguf.tensor("blk.1.ffn_down.weight").dtype, DType::kQ6_K);
  }

  const auto source = load_dense_folder(folder);
  const auto quantized = load_gguf_model(out);
  const std::vector<std::int32_t> ids = {1000, 17, 400, 33, 250, 9, 512, 77};
  const golden::RunOutput want = golden::run_case(*source, ids, 4, 2);
  const golden::RunOutput got = golden::run_case(*quantized, ids, 4, 2);
  float scale = 0.0f;
  for (const float v : want.logits) scale = std::max(scale, std::fabs(v));
  const LogitStats s = compare_logits(got.logits, want.logits, source->summary().vocab_size);
  std::printf(
      "[quantize] random 256-wide %s %s: |logit error| median row %.3g, max %.3g "
      "(max |logit| %.3g); argmax agreement %.1f%%\n",
      golden, type, s.median_error, s.max_error, scale, 100.0 * s.argmax_agreement);
  EXPECT_LE(s.median_error, bound * scale);
}

INSTANTIATE_TEST_SUITE_P(KQuants, QuantizeDenseKQuantTest,
                         ::testing::Values(DenseKQuant{"llama-tiny", "f32", 1e-5f},
                                           DenseKQuant{"llama-tiny", "q8_0", 0.05f},
                                           DenseKQuant{"llama-tiny", "q6_k", 0.08f},
                                           DenseKQuant{"llama-tiny", "q4_k", 0.25f},
                                           DenseKQuant{"qwen2-tiny", "q6_k", 0.08f}));

TEST(QuantizeErrorsTest, OneClearErrorEach) {
  TempDir dir;
  const std::string golden = test::golden_folder("v3-tiny-bf16");
  auto [code, output] =
      run_whale("quantize " + dir.file("nope") + " --type q8_0 --out " + dir.file("x.gguf"));
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("nope: not a folder"), std::string::npos) << output;

  std::tie(code, output) =
      run_whale("quantize " + golden + " --type q5_k --out " + dir.file("x.gguf"));
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("--type: \"q5_k\""), std::string::npos) << output;
  EXPECT_NE(output.find("q8_0, q4_k, q6_k"), std::string::npos) << output;

  std::tie(code, output) =
      run_whale("quantize " + golden + " --type q8_0 --out " + dir.file("missing/x.gguf"));
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("does not exist"), std::string::npos) << output;
  EXPECT_NE(output.find("missing"), std::string::npos) << output;

  // A folder without tokenizer.json (the golden folders have none).
  std::tie(code, output) =
      run_whale("quantize " + golden + " --type q8_0 --out " + dir.file("x.gguf"));
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("tokenizer.json: missing"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir.file("x.gguf")));
}

}  // namespace
}  // namespace whale
