#include "model/dense_loader.h"

#include <set>

#include "io/checkpoint.h"
#include "model/gguf_names.h"
#include "util/error.h"

namespace whale {
namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + "]";
}

class Binder {
 public:
  Binder(const TensorSource& source, const DenseTensorNaming& naming)
      : source_(source), naming_(naming) {}

  const TensorInfo* find(DenseTensor t, std::int64_t layer) const {
    return source_.find(naming_.name(t, layer));
  }

  const TensorInfo& get(DenseTensor t, std::int64_t layer, const std::vector<std::int64_t>& shape) {
    const std::string name = naming_.name(t, layer);
    const TensorInfo* info = source_.find(name);
    if (info == nullptr)
      fail("{}: tensor '{}' is missing (expected shape {})", source_.origin(), name,
           shape_string(shape));
    if (info->shape != shape)
      fail("{}: tensor '{}' has shape {}, expected {} from the model's configuration", info->file,
           name, info->shape_string(), shape_string(shape));
    used_.insert(name);
    return *info;
  }

  // Any dtype matmul reads in place.
  WeightMatrix matrix(DenseTensor t, std::int64_t layer, std::int64_t rows, std::int64_t cols) {
    const TensorInfo& info = get(t, layer, {rows, cols});
    if (info.dtype != DType::kF32 && info.dtype != DType::kBF16 && info.dtype != DType::kF16 &&
        !dtype_is_block_format(info.dtype))
      fail("{}: tensor '{}' is stored as {}, expected F32, BF16, F16 or a GGML block format",
           info.file, info.name, dtype_name(info.dtype));
    WeightMatrix w;
    w.name = info.name;
    w.dtype = info.dtype;
    w.rows = rows;
    w.cols = cols;
    w.data = info.data.data();
    return w;
  }

  std::vector<float> vector(DenseTensor t, std::int64_t layer, std::int64_t n) {
    const TensorInfo& info = get(t, layer, {n});
    if (info.dtype != DType::kF32 && info.dtype != DType::kBF16 && info.dtype != DType::kF16)
      fail("{}: tensor '{}' is stored as {}, expected F32, BF16 or F16", info.file, info.name,
           dtype_name(info.dtype));
    WeightMatrix w;
    w.name = info.name;
    w.dtype = info.dtype;
    w.rows = 1;
    w.cols = n;
    w.data = info.data.data();
    std::vector<float> out(static_cast<std::size_t>(n));
    dequantize_rows(w, 0, 1, out.data());
    return out;
  }

  // A tensor the config rules out must not be there either (a bias where config says none).
  void absent(DenseTensor t, std::int64_t layer, const char* why) const {
    if (const TensorInfo* info = find(t, layer))
      fail("{}: tensor '{}' is present but {}", info->file, info->name, why);
  }

  void check_leftovers(const std::string& what) const {
    for (const auto& [name, info] : source_.tensors()) {
      if (used_.count(name)) continue;
      bool ignored = false;
      for (const std::string& suffix : naming_.ignored_suffixes) ignored |= name.ends_with(suffix);
      if (!ignored)
        fail("{}: unexpected tensor '{}' {} {} (not part of {})", info->file, name,
             dtype_name(info->dtype), info->shape_string(), what);
    }
  }

 private:
  const TensorSource& source_;
  const DenseTensorNaming& naming_;
  std::set<std::string> used_;
};

}  // namespace

DenseTensorNaming hf_dense_naming() {
  DenseTensorNaming n;
  n.name = [](DenseTensor t, std::int64_t layer) -> std::string {
    const std::string p = fmt::format("model.layers.{}.", layer);
    switch (t) {
      case DenseTensor::kEmbed:
        return "model.embed_tokens.weight";
      case DenseTensor::kFinalNorm:
        return "model.norm.weight";
      case DenseTensor::kLmHead:
        return "lm_head.weight";
      case DenseTensor::kAttnNorm:
        return p + "input_layernorm.weight";
      case DenseTensor::kQ:
        return p + "self_attn.q_proj.weight";
      case DenseTensor::kK:
        return p + "self_attn.k_proj.weight";
      case DenseTensor::kV:
        return p + "self_attn.v_proj.weight";
      case DenseTensor::kO:
        return p + "self_attn.o_proj.weight";
      case DenseTensor::kQBias:
        return p + "self_attn.q_proj.bias";
      case DenseTensor::kKBias:
        return p + "self_attn.k_proj.bias";
      case DenseTensor::kVBias:
        return p + "self_attn.v_proj.bias";
      case DenseTensor::kOBias:
        return p + "self_attn.o_proj.bias";
      case DenseTensor::kFfnNorm:
        return p + "post_attention_layernorm.weight";
      case DenseTensor::kGate:
        return p + "mlp.gate_proj.weight";
      case DenseTensor::kUp:
        return p + "mlp.up_proj.weight";
      case DenseTensor::kDown:
        return p + "mlp.down_proj.weight";
    }
    return "";
  };
  n.ignored_suffixes = {"rotary_emb.inv_freq"};
  return n;
}

DenseTensorNaming gguf_dense_naming(GgufArch arch) {
  DenseTensorNaming n;
  const DenseTensorNaming hf = hf_dense_naming();
  n.name = [arch, hf_name = hf.name](DenseTensor t, std::int64_t layer) -> std::string {
    const std::string name = hf_name(t, layer);
    const auto entry = find_hf_tensor_name(arch, name);
    return entry ? entry->gguf : name;  // the table has every DenseTensor
  };
  n.ignored_suffixes = {std::string(kGgufRopeFreqs)};  // llama3 factors: the loader reads them
  n.missing_head_means_tied = true;
  // llama.cpp's converter permutes Llama's q/k rows for adjacent-pair rotation; Qwen2 keeps
  // Hugging Face's rotate-half layout (NEOX in llama.cpp's terms).
  n.rope_pairing = arch == GgufArch::kLlama ? RopePairing::kAdjacent : RopePairing::kHalf;
  return n;
}

DenseWeights bind_dense_weights(const DenseConfig& c, const TensorSource& source,
                                const DenseTensorNaming& naming) {
  const std::int64_t H = c.hidden_size, V = c.vocab_size, F = c.intermediate_size, qw = c.q_width(),
                     kvw = c.kv_width();
  Binder b(source, naming);
  DenseWeights w;
  w.rope_pairing = naming.rope_pairing;
  w.embed = b.matrix(DenseTensor::kEmbed, 0, V, H);
  w.final_norm = b.vector(DenseTensor::kFinalNorm, 0, H);
  const bool has_head = b.find(DenseTensor::kLmHead, 0) != nullptr;
  if (has_head || !(c.tie_word_embeddings || naming.missing_head_means_tied))
    w.lm_head = b.matrix(DenseTensor::kLmHead, 0, V, H);
  else
    w.lm_head = w.embed;

  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    DenseLayerWeights L;
    L.attn_norm = b.vector(DenseTensor::kAttnNorm, i, H);
    L.q = b.matrix(DenseTensor::kQ, i, qw, H);
    L.k = b.matrix(DenseTensor::kK, i, kvw, H);
    L.v = b.matrix(DenseTensor::kV, i, kvw, H);
    L.o = b.matrix(DenseTensor::kO, i, H, qw);
    if (c.qkv_bias) {
      L.q_bias = b.vector(DenseTensor::kQBias, i, qw);
      L.k_bias = b.vector(DenseTensor::kKBias, i, kvw);
      L.v_bias = b.vector(DenseTensor::kVBias, i, kvw);
    } else {
      for (DenseTensor t : {DenseTensor::kQBias, DenseTensor::kKBias, DenseTensor::kVBias})
        b.absent(t, i, fmt::format("the {} config has no q/k/v biases", c.model_type).c_str());
    }
    if (c.o_bias)
      L.o_bias = b.vector(DenseTensor::kOBias, i, H);
    else
      b.absent(DenseTensor::kOBias, i,
               fmt::format("the {} config has no o_proj bias", c.model_type).c_str());
    L.ffn_norm = b.vector(DenseTensor::kFfnNorm, i, H);
    L.gate = b.matrix(DenseTensor::kGate, i, F, H);
    L.up = b.matrix(DenseTensor::kUp, i, F, H);
    L.down = b.matrix(DenseTensor::kDown, i, H, F);
    w.layers.push_back(std::move(L));
  }
  b.check_leftovers(fmt::format("a {} model with {} layers", c.model_type, c.num_hidden_layers));
  return w;
}

std::unique_ptr<DenseModel> load_dense_folder(const std::string& folder) {
  auto checkpoint = std::make_shared<const Checkpoint>(folder);
  DenseConfig config = load_dense_config(checkpoint->config_path());
  DenseWeights weights = bind_dense_weights(config, *checkpoint, hf_dense_naming());
  return std::make_unique<DenseModel>(std::move(config), std::move(weights), std::move(checkpoint));
}

}  // namespace whale
