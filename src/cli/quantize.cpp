// whale quantize MODEL --type q8_0|q4_k|q6_k|bf16|f16|f32 --out FILE.gguf [-t N]: converts a
// Hugging Face folder into the GGUF llama.cpp's convert_hf_to_gguf.py writes for it (tensor
// names from model/gguf_names.h, layout, metadata keys), so llama.cpp and whale (model/gguf_load.h,
// its inverse) both load it:
//
//   DeepSeek-V2/V3 (model_type deepseek_v2/v3; BF16, F32 or block-FP8 weights) -> deepseek2, as
//   DeepseekV2Model writes it: kv_b_proj split per head into attn_k_b (W_UK transposed, GGML dims
//   [dn, rkv, nh]) and attn_v_b ([rkv, dv, nh]); routed experts stacked per layer
//   ([cols, rows, E]); MTP layers (index >= num_hidden_layers) dropped.
//   Qwen2 (model_type qwen2) -> qwen2, as Qwen2Model writes it: tensors renamed, nothing else.
//   Llama (model_type llama) -> llama, as LlamaModel writes it: attn_q/attn_k rows permuted per
//   head so that RoPE rotates adjacent pairs (LlamaModel.permute), and Llama 3 RoPE scaling as the
//   F32 tensor rope_freqs.weight of per-frequency factors (LlamaModel.generate_extra_tensors).
//
// Types: 1-D tensors (norms, biases, exp_probs_b.bias) and the router ffn_gate_inp stay F32, as the
// converter keeps them. Every other matrix gets the requested type when its row length is a
// multiple of the type's block; otherwise Q4_K/Q6_K fall back to Q8_0 (rows of 32) and then to
// F16, Q8_0 to F16, as llama-quantize falls back to a smaller block. q4_k writes llama.cpp's
// MOSTLY_Q4_K_M (ftype 15): Q4_K with Q6_K for output.weight, attn_v / attn_v_b and every ffn_down
// (llama.cpp's mix gives Q6_K to attn_v and about half the ffn_down layers; all of them is the
// simpler, slightly larger superset, still within what "Q4_K_M" files contain).
//
// Streaming: one output tensor at a time, a few MB of rows at a time (a 671B model needs memory
// for its largest kv_b_proj in float32, tens of MB, not for the model); rows are encoded on the
// thread pool; the writer renames the file into place only when complete.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <numbers>
#include <set>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/quantize_metadata.h"
#include "formats/dtype.h"
#include "formats/ggml_quants.h"
#include "formats/scalar_formats.h"
#include "io/checkpoint.h"
#include "io/deepseek_config.h"
#include "io/dense_config.h"
#include "io/gguf_writer.h"
#include "kernels/matmul.h"
#include "model/dense_loader.h"
#include "model/gguf_names.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/thread_pool.h"

namespace whale::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TargetType {
  std::string name;     // as given to --type
  DType dtype;          // of the matrices
  std::uint32_t ftype;  // general.file_type (llama_ftype)
};

TargetType parse_target(const std::string& type) {
  static const TargetType kTypes[] = {
      {"f32", DType::kF32, 0},   {"f16", DType::kF16, 1},    {"bf16", DType::kBF16, 32},
      {"q8_0", DType::kQ8_0, 7}, {"q4_k", DType::kQ4_K, 15}, {"q6_k", DType::kQ6_K, 18},
  };
  for (const TargetType& t : kTypes)
    if (t.name == type) return t;
  fail(
      "--type: \"{}\" is not a type whale quantize writes; expected q8_0, q4_k, q6_k, bf16, f16 "
      "or f32",
      type);
}

// How one output tensor's rows come from the checkpoint.
enum class RowKind {
  kDirect,   // a [rows, cols] (or 1-D) tensor as is
  kStacked,  // experts 0..E-1 of the same projection, one after another
  kKeyB,     // kv_b_proj's key rows per head, transposed: row (h, i) = column i of head h's W_UK
  kValueB,   // kv_b_proj's value rows per head
  kRopePermuted,  // Llama q/k: rows (or a bias's elements) of each head reordered, see below
  kGenerated,     // values computed here (rope_freqs.weight)
};

struct OutputTensor {
  std::string name;                // GGUF name
  std::vector<std::int64_t> dims;  // GGML order
  DType dtype = DType::kF32;
  RowKind kind = RowKind::kDirect;
  std::vector<std::string> sources;  // Hugging Face names (one, or one per expert)
  std::int64_t heads = 0;            // kRopePermuted: heads the rows (elements) form
  std::vector<float> values;         // kGenerated: the tensor, F32

  std::int64_t row_length() const { return dims[0]; }
  std::int64_t rows() const {
    std::int64_t n = 1;
    for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
    return n;
  }
  std::uint64_t bytes() const {
    return static_cast<std::uint64_t>(rows()) *
           static_cast<std::uint64_t>(dtype_row_bytes(dtype, row_length()));
  }
};

OutputTensor output(std::string name, std::vector<std::int64_t> dims, DType dtype, RowKind kind,
                    std::vector<std::string> sources = {}) {
  OutputTensor o;
  o.name = std::move(name);
  o.dims = std::move(dims);
  o.dtype = dtype;
  o.kind = kind;
  o.sources = std::move(sources);
  return o;
}

// What the row readers need to know of the source model.
struct SourceLayout {
  std::int64_t fp8_block_rows = 128, fp8_block_cols = 128;  // weight_block_size
  std::int64_t dn = 0, dv = 0, rkv = 0;  // MLA: qk_nope_head_dim, v_head_dim, kv_lora_rank
};

// ---------------------------------------------------------------------------------------------
// The tensor plan.

// The factors llama.cpp divides Llama 3's RoPE frequencies by (transformers'
// _compute_llama3_parameters): 1 for short wavelengths, `factor` for long ones, a smooth blend
// between. Computed as LlamaModel.generate_extra_tensors does, in float32 torch arithmetic,
// where `c / tensor` is tensor.reciprocal() * c, so the tensor matches the converter's bytes.
std::vector<float> llama3_rope_freq_factors(const Llama3RopeScaling& s, double rope_theta,
                                            std::int64_t head_dim) {
  const auto rdiv = [](float c, float x) { return (1.0f / x) * c; };
  const float old_context = static_cast<float>(s.original_max_position_embeddings);
  const auto low = static_cast<float>(s.low_freq_factor),
             high = static_cast<float>(s.high_freq_factor), factor = static_cast<float>(s.factor);
  const double low_freq_wavelen =
                   static_cast<double>(s.original_max_position_embeddings) / s.low_freq_factor,
               high_freq_wavelen =
                   static_cast<double>(s.original_max_position_embeddings) / s.high_freq_factor;
  std::vector<float> out;
  for (std::int64_t i = 0; i < head_dim; i += 2) {
    const float exponent = static_cast<float>(i) / static_cast<float>(head_dim);
    const float freq = rdiv(1.0f, std::pow(static_cast<float>(rope_theta), exponent));
    const float wavelen = rdiv(static_cast<float>(2.0 * std::numbers::pi), freq);
    if (wavelen < high_freq_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_freq_wavelen) {
      out.push_back(factor);
    } else {
      const float smooth = (rdiv(old_context, wavelen) - low) / (high - low);
      out.push_back(rdiv(1.0f, (1.0f - smooth) / factor + smooth));
    }
  }
  return out;
}

// The output tensors, in the order the converter writes them, checked against the config.
class Planner {
 public:
  Planner(const Checkpoint& ckpt, GgufArch arch, const TargetType& target)
      : ckpt_(ckpt), arch_(arch), target_(target) {}

  std::vector<OutputTensor> plan_deepseek(const DeepSeekConfig& c) {
    matrix("model.embed_tokens.weight");
    for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) deepseek_layer(c, l);
    if (c.tie_word_embeddings) {
      used_.insert("lm_head.weight");  // token_embd serves, as the converter skips it
    } else if (ckpt_.find("lm_head.weight") != nullptr) {
      matrix("lm_head.weight");
    }
    vector("model.norm.weight");
    return std::move(out_);
  }

  // Qwen2 and Llama: every checkpoint tensor renamed, in the checkpoint's (sorted) order as the
  // converter iterates a single file; Llama's q/k rows permuted, its llama3 factors first.
  std::vector<OutputTensor> plan_dense(const DenseConfig& c) {
    // Every tensor the config calls for, with its shape, and none left over: the loader's checks.
    (void)bind_dense_weights(c, ckpt_, hf_dense_naming());
    if (c.rope_scaling) {
      OutputTensor o =
          output(std::string(kGgufRopeFreqs), {c.head_dim / 2}, DType::kF32, RowKind::kGenerated);
      o.values = llama3_rope_freq_factors(*c.rope_scaling, c.rope_theta, c.head_dim);
      out_.push_back(std::move(o));
    }
    for (const auto& [name, info] : ckpt_.tensors()) {
      if (name.ends_with("rotary_emb.inv_freq")) continue;  // recomputed from rope_theta
      if (name == "lm_head.weight" && c.tie_word_embeddings) continue;  // token_embd serves
      const std::size_t rank = info->shape.size();
      if (rank == 1)
        vector(name);
      else
        matrix(name);
      if (arch_ == GgufArch::kLlama &&
          (name.ends_with(".self_attn.q_proj.weight") || name.ends_with(".self_attn.q_proj.bias") ||
           name.ends_with(".self_attn.k_proj.weight") ||
           name.ends_with(".self_attn.k_proj.bias"))) {
        OutputTensor& o = out_.back();
        o.kind = RowKind::kRopePermuted;
        o.heads = name.find(".q_proj.") != std::string::npos ? c.num_attention_heads
                                                             : c.num_key_value_heads;
      }
    }
    return std::move(out_);
  }
  const std::set<std::string>& used() const { return used_; }

 private:
  const TensorInfo& get(const std::string& name, std::size_t rank) {
    const TensorInfo* t = ckpt_.find(name);
    if (t == nullptr) fail("{}: tensor '{}' is missing", ckpt_.folder(), name);
    if (t->shape.size() != rank)
      fail("{}: tensor '{}' has shape {}, expected {} dims", t->file, name, t->shape_string(),
           rank);
    used_.insert(name);
    if (ckpt_.find(name + "_scale_inv") != nullptr) used_.insert(name + "_scale_inv");
    return *t;
  }

  // The GGUF name of a Hugging Face tensor (model/gguf_names.h).
  GgufTensorName gguf_name(const std::string& hf) const {
    const auto entry = find_hf_tensor_name(arch_, hf);
    if (!entry)
      fail("{}: tensor '{}' has no place in a {} GGUF", ckpt_.folder(), hf, gguf_arch_name(arch_));
    return *entry;
  }

  // The requested type where the row length allows it, else the documented fallback.
  DType matrix_type(const std::string& gguf_name, std::int64_t row_length) const {
    DType want = target_.dtype;
    if (want == DType::kQ4_K &&
        (gguf_name == "output.weight" || gguf_name.find(".attn_v") != std::string::npos ||
         gguf_name.find(".ffn_down") != std::string::npos))
      want = DType::kQ6_K;  // the Q4_K_M mix
    if (row_length % dtype_block_elements(want) == 0) return want;
    if ((want == DType::kQ4_K || want == DType::kQ6_K) && row_length % 32 == 0) return DType::kQ8_0;
    return DType::kF16;
  }

  void matrix(const std::string& hf, bool keep_f32 = false) {
    const TensorInfo& t = get(hf, 2);
    const std::string gguf = gguf_name(hf).gguf;
    OutputTensor o = output(gguf, {t.shape[1], t.shape[0]}, DType::kF32, RowKind::kDirect, {hf});
    o.dtype = keep_f32 ? DType::kF32 : matrix_type(gguf, t.shape[1]);
    out_.push_back(std::move(o));
  }
  void vector(const std::string& hf) {
    const TensorInfo& t = get(hf, 1);
    out_.push_back(output(gguf_name(hf).gguf, {t.shape[0]}, DType::kF32, RowKind::kDirect, {hf}));
  }

  void deepseek_layer(const DeepSeekConfig& c, std::int64_t l) {
    const std::string p = fmt::format("model.layers.{}.", l);
    vector(p + "input_layernorm.weight");
    if (c.is_moe_layer(l)) {
      const std::int64_t experts = *c.n_routed_experts;
      for (const char* proj : {"down", "gate", "up"}) {
        const GgufTensorName stacked =
            gguf_name(fmt::format("{}mlp.experts.0.{}_proj.weight", p, proj));
        std::vector<std::string> names;
        std::vector<std::int64_t> shape;
        for (std::int64_t e = 0; e < experts; ++e) {
          names.push_back(hf_expert_tensor_name(stacked, e));
          const TensorInfo& t = get(names.back(), 2);
          if (e == 0) shape = t.shape;
          if (t.shape != shape)
            fail("{}: tensor '{}' has shape {}, expected {} as expert 0", t.file, names.back(),
                 t.shape_string(), fmt::format("[{}, {}]", shape[0], shape[1]));
        }
        out_.push_back(output(stacked.gguf, {shape[1], shape[0], experts},
                              matrix_type(stacked.gguf, shape[1]), RowKind::kStacked,
                              std::move(names)));
      }
      if (ckpt_.find(p + "mlp.gate.e_score_correction_bias") != nullptr)
        vector(p + "mlp.gate.e_score_correction_bias");
      matrix(p + "mlp.gate.weight", /*keep_f32=*/true);
      if (c.n_shared_experts > 0)
        for (const char* proj : {"down", "gate", "up"})
          matrix(fmt::format("{}mlp.shared_experts.{}_proj.weight", p, proj));
    } else {
      for (const char* proj : {"down", "gate", "up"})
        matrix(fmt::format("{}mlp.{}_proj.weight", p, proj));
    }
    vector(p + "post_attention_layernorm.weight");
    vector(p + "self_attn.kv_a_layernorm.weight");
    matrix(p + "self_attn.kv_a_proj_with_mqa.weight");

    const std::string kv_b = p + "self_attn.kv_b_proj.weight";
    const TensorInfo& t = get(kv_b, 2);
    const std::int64_t nh = c.num_attention_heads, dn = c.qk_nope_head_dim, dv = c.v_head_dim,
                       rkv = c.kv_lora_rank;
    if (t.shape != std::vector<std::int64_t>{nh * (dn + dv), rkv})
      fail("{}: tensor '{}' has shape {}, expected [{}, {}] (heads x (qk_nope + v), kv_lora_rank)",
           t.file, kv_b, t.shape_string(), nh * (dn + dv), rkv);
    // Written split, as whale's model names the halves.
    const std::string kb = gguf_name(p + "self_attn.k_b_proj.weight").gguf,
                      vb = gguf_name(p + "self_attn.v_b_proj.weight").gguf;
    out_.push_back(output(kb, {dn, rkv, nh}, matrix_type(kb, dn), RowKind::kKeyB, {kv_b}));
    out_.push_back(output(vb, {rkv, dv, nh}, matrix_type(vb, rkv), RowKind::kValueB, {kv_b}));
    matrix(p + "self_attn.o_proj.weight");
    if (c.q_lora_rank) {
      vector(p + "self_attn.q_a_layernorm.weight");
      matrix(p + "self_attn.q_a_proj.weight");
      matrix(p + "self_attn.q_b_proj.weight");
    } else {
      matrix(p + "self_attn.q_proj.weight");
    }
  }

  const Checkpoint& ckpt_;
  GgufArch arch_;
  const TargetType& target_;
  std::vector<OutputTensor> out_;
  std::set<std::string> used_;
};

// ---------------------------------------------------------------------------------------------
// Encoding rows.

WeightMatrix source_matrix(const Checkpoint& ckpt, const SourceLayout& layout,
                           const std::string& name) {
  const TensorInfo& t = *ckpt.find(name);
  WeightMatrix w;
  w.name = name;
  w.dtype = t.dtype;
  w.rows = t.shape.size() == 2 ? t.shape[0] : 1;
  w.cols = t.shape.back();
  w.data = t.data.data();
  if (t.dtype == DType::kF8E4M3) {
    const TensorInfo* scale = ckpt.find(name + "_scale_inv");
    if (scale == nullptr)
      fail("{}: FP8 tensor '{}' has no companion '{}_scale_inv' (its block scales)", t.file, name,
           name);
    w.block_rows = layout.fp8_block_rows;
    w.block_cols = layout.fp8_block_cols;
    const std::vector<std::int64_t> want = {(w.rows + w.block_rows - 1) / w.block_rows,
                                            (w.cols + w.block_cols - 1) / w.block_cols};
    if (scale->dtype != DType::kF32 || scale->shape != want)
      fail("{}: tensor '{}_scale_inv' is {} {}, expected F32 [{}, {}]", scale->file, name,
           dtype_name(scale->dtype), scale->shape_string(), want[0], want[1]);
    w.block_scales = reinterpret_cast<const float*>(scale->data.data());
  } else if (t.dtype != DType::kF32 && t.dtype != DType::kBF16 && t.dtype != DType::kF16) {
    fail("{}: tensor '{}' is {}, expected F32, BF16, F16 or F8_E4M3", t.file, name,
         dtype_name(t.dtype));
  }
  return w;
}

void encode_row(DType dtype, const float* x, std::int64_t n, std::uint8_t* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, x, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case DType::kBF16:
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint16_t h = f32_to_bf16(x[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::kF16:
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint16_t h = f32_to_f16(x[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    default:
      quantize_row(dtype, x, dst, n);
  }
}

// LlamaModel.permute: a head's rows (h, j, i) for j < 2, i < head_dim / 2 (the Hugging Face
// rotate-half layout, pair (i, i + head_dim / 2)) become rows (h, i, j), so that llama.cpp's
// rotation of adjacent pairs (2i, 2i + 1) rotates the same pairs. Output row -> source row.
std::int64_t rope_permuted_source(std::int64_t r, std::int64_t head_dim) {
  const std::int64_t h = r / head_dim, i = (r % head_dim) / 2, j = r % 2;
  return h * head_dim + j * (head_dim / 2) + i;
}

// Writes one tensor's bytes, a chunk of rows at a time.
void write_tensor(const Checkpoint& ckpt, const SourceLayout& layout, const OutputTensor& o,
                  GgufWriter& writer, ThreadPool& pool,
                  const std::function<void(std::uint64_t)>& done) {
  std::vector<WeightMatrix> sources;
  for (const std::string& s : o.sources) sources.push_back(source_matrix(ckpt, layout, s));
  const std::int64_t n = o.row_length(), rows = o.rows();
  const auto row_bytes = static_cast<std::size_t>(dtype_row_bytes(o.dtype, n));

  // kv_b_proj in float32, for the per-head transposes (the one tensor read whole).
  std::vector<float> kv_b;
  if (o.kind == RowKind::kKeyB || o.kind == RowKind::kValueB) {
    const WeightMatrix& w = sources[0];
    kv_b.resize(static_cast<std::size_t>(w.rows * w.cols));
    pool.parallel_for(w.rows, 16, [&](std::int64_t r0, std::int64_t r1, int) {
      dequantize_rows(w, r0, r1, kv_b.data() + r0 * w.cols);
    });
  }
  const std::int64_t dn = layout.dn, dv = layout.dv, rkv = layout.rkv;
  // Llama's permuted q/k: rows of a matrix, elements of a bias (one row, read whole).
  const bool permuted_vector = o.kind == RowKind::kRopePermuted && o.dims.size() == 1;
  const std::int64_t head_dim =
      o.kind == RowKind::kRopePermuted ? (permuted_vector ? n : rows) / o.heads : 0;
  std::vector<float> whole;
  if (permuted_vector) {
    whole.resize(static_cast<std::size_t>(n));
    dequantize_rows(sources[0], 0, 1, whole.data());
  }
  // A bit-exact copy where the stored row already is the output row.
  const bool copy = (o.kind == RowKind::kDirect || o.kind == RowKind::kStacked ||
                     (o.kind == RowKind::kRopePermuted && !permuted_vector)) &&
                    std::all_of(sources.begin(), sources.end(),
                                [&](const WeightMatrix& w) { return w.dtype == o.dtype; });

  const auto read_row = [&](std::int64_t r, float* x, std::uint8_t* dst) {
    switch (o.kind) {
      case RowKind::kDirect:
      case RowKind::kStacked: {
        const std::int64_t per = sources[0].rows;
        const WeightMatrix& w = sources[static_cast<std::size_t>(r / per)];
        if (copy) {
          std::memcpy(dst, w.data + static_cast<std::size_t>(r % per) * row_bytes, row_bytes);
          return;
        }
        dequantize_rows(w, r % per, r % per + 1, x);
        break;
      }
      case RowKind::kRopePermuted: {
        if (permuted_vector) {
          for (std::int64_t e = 0; e < n; ++e)
            x[e] = whole[static_cast<std::size_t>(rope_permuted_source(e, head_dim))];
          break;
        }
        const std::int64_t source_row = rope_permuted_source(r, head_dim);
        if (copy) {
          std::memcpy(dst, sources[0].data + static_cast<std::size_t>(source_row) * row_bytes,
                      row_bytes);
          return;
        }
        dequantize_rows(sources[0], source_row, source_row + 1, x);
        break;
      }
      case RowKind::kGenerated:
        std::memcpy(x, o.values.data(), static_cast<std::size_t>(n) * sizeof(float));
        break;
      case RowKind::kKeyB: {  // row (h, i): W_UK[h][j, i] for j < dn
        const std::int64_t h = r / rkv, i = r % rkv;
        for (std::int64_t j = 0; j < dn; ++j)
          x[j] = kv_b[static_cast<std::size_t>((h * (dn + dv) + j) * rkv + i)];
        break;
      }
      case RowKind::kValueB: {  // row (h, d): W_UV[h][d, :]
        const std::int64_t h = r / dv, d = r % dv;
        std::memcpy(x, kv_b.data() + (h * (dn + dv) + dn + d) * rkv,
                    static_cast<std::size_t>(rkv) * sizeof(float));
        break;
      }
    }
    encode_row(o.dtype, x, n, dst);
  };

  constexpr std::size_t kChunkBytes = 16u << 20;
  const std::int64_t chunk_rows = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(kChunkBytes / (static_cast<std::size_t>(n) * 4)));
  std::vector<std::uint8_t> chunk;
  std::vector<std::vector<float>> scratch(static_cast<std::size_t>(pool.size()),
                                          std::vector<float>(static_cast<std::size_t>(n)));
  for (std::int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const std::int64_t r1 = std::min(rows, r0 + chunk_rows);
    chunk.resize(static_cast<std::size_t>(r1 - r0) * row_bytes);
    pool.parallel_for(r1 - r0, 1, [&](std::int64_t b, std::int64_t e, int thread) {
      float* x = scratch[static_cast<std::size_t>(thread)].data();
      for (std::int64_t r = b; r < e; ++r)
        read_row(r0 + r, x, chunk.data() + static_cast<std::size_t>(r) * row_bytes);
    });
    writer.write_tensor_data(chunk);
    done(chunk.size());
  }
}

struct Options {
  std::string model, type, out;
  int threads = 0;
};

void quantize(const Options& opt) {
  const TargetType target = parse_target(opt.type);
  if (!fs::is_directory(opt.model))
    fail("{}: not a folder; expected a Hugging Face model folder (config.json, *.safetensors)",
         opt.model);
  const fs::path out_dir = fs::absolute(opt.out).parent_path();
  if (!fs::is_directory(out_dir))
    fail("--out {}: folder {} does not exist", opt.out, out_dir.string());
  const std::string config_path = opt.model + "/config.json";
  const json raw = read_json_file(config_path);
  std::string model;
  if (raw.is_object())
    if (const auto it = raw.find("model_type"); it != raw.end() && it->is_string())
      model = it->get<std::string>();
  GgufArch arch = GgufArch::kDeepSeek2;
  if (model == "qwen2")
    arch = GgufArch::kQwen2;
  else if (model == "llama")
    arch = GgufArch::kLlama;
  else if (model != "deepseek_v2" && model != "deepseek_v3")
    fail(
        "{}: field 'model_type' is '{}'; whale quantize converts deepseek_v2 and deepseek_v3 "
        "(to a deepseek2 GGUF), qwen2 and llama",
        config_path, model.empty() ? "(missing)" : model);
  std::optional<DeepSeekConfig> deepseek;
  std::optional<DenseConfig> dense;
  SourceLayout layout;
  if (arch == GgufArch::kDeepSeek2) {
    deepseek = parse_deepseek_config(raw, config_path);
    if (deepseek->quantization) {
      layout.fp8_block_rows = deepseek->quantization->block_rows;
      layout.fp8_block_cols = deepseek->quantization->block_cols;
    }
    layout.dn = deepseek->qk_nope_head_dim;
    layout.dv = deepseek->v_head_dim;
    layout.rkv = deepseek->kv_lora_rank;
  } else {
    dense = parse_dense_config(raw, config_path);
  }
  const Checkpoint ckpt(opt.model);
  const GgufTokenizer tokenizer =
      read_gguf_tokenizer(opt.model, deepseek ? deepseek->vocab_size : dense->vocab_size, raw);

  Planner planner(ckpt, arch, target);
  const std::vector<OutputTensor> plan =
      deepseek ? planner.plan_deepseek(*deepseek) : planner.plan_dense(*dense);
  // Every deepseek checkpoint tensor is either written or an MTP layer's (dropped, as the
  // converter does); plan_dense checks its own.
  std::size_t mtp = 0;
  if (deepseek) {
    for (const auto& [name, info] : ckpt.tensors()) {
      if (planner.used().contains(name)) continue;
      std::int64_t layer = -1;
      if (std::sscanf(name.c_str(), "model.layers.%ld.", &layer) == 1 &&
          layer >= deepseek->num_hidden_layers) {
        ++mtp;
        continue;
      }
      fail("{}: tensor '{}' has no place in a deepseek2 GGUF", info->file, name);
    }
  }

  GgufWriter writer(opt.out);
  if (deepseek)
    set_deepseek_metadata(writer, opt.model, raw, *deepseek, target.ftype);
  else
    set_dense_metadata(writer, arch, opt.model, raw, *dense, target.ftype);
  set_gguf_tokenizer(writer, tokenizer);
  std::uint64_t total = 0;
  std::map<std::string, std::size_t> by_type;
  for (const OutputTensor& o : plan) {
    writer.add_tensor(o.name, o.dtype, o.dims);
    total += o.bytes();
    ++by_type[std::string(dtype_name(o.dtype))];
  }
  ThreadPool pool(opt.threads > 0 ? opt.threads : ThreadPool::default_threads());
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  std::unique_ptr<DownloadProgress> progress;
  if (terminal) {
    progress = std::make_unique<DownloadProgress>(stderr, true);
    progress->begin(fs::path(opt.out).filename().string(), static_cast<std::int64_t>(total), 0);
  }
  std::uint64_t written = 0;
  for (const OutputTensor& o : plan)
    write_tensor(ckpt, layout, o, writer, pool, [&](std::uint64_t bytes) {
      written += bytes;
      if (progress) progress->update(static_cast<std::int64_t>(written));
    });
  writer.finish();
  if (progress) progress->end(true);
  std::string types;
  for (const auto& [type, count] : by_type)
    types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, type);
  std::fprintf(stderr, "quantize: wrote %s (%zu tensors: %s; %.2f GB)%s\n", opt.out.c_str(),
               plan.size(), types.c_str(), static_cast<double>(total) / 1e9,
               mtp > 0 ? fmt::format("; dropped {} MTP tensors (layers >= {}), as llama.cpp's "
                                     "converter does",
                                     mtp, deepseek->num_hidden_layers)
                             .c_str()
                       : "");
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Convert a Hugging Face folder (DeepSeek-V2/V3, Qwen2, Llama) to a GGUF in llama.cpp's "
      "layout");
  cmd->add_option("model", opt->model, "Hugging Face model folder")->required();
  cmd->add_option("--type", opt->type, "Matrix type: q8_0, q4_k (Q4_K_M mix), q6_k, bf16, f16, f32")
      ->required();
  cmd->add_option("--out", opt->out, "Output GGUF file (written atomically)")->required();
  cmd->add_option("-t,--threads", opt->threads, "Threads (default: all CPUs)");
  cmd->callback([opt] { quantize(*opt); });
}

}  // namespace whale::cli
