// whale inspect MODEL: architecture, parameters (total / active per token), dtypes, bytes on
// disk, KV-cache bytes per token and the memory needed at a context length. A GGUF file is
// described as a container instead (inspect_gguf.cpp).
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "io/checkpoint.h"
#include "io/gguf.h"
#include "kernels/cpu_features.h"
#include "model/deepseek.h"
#include "model/dense.h"
#include "model/load.h"
#include "util/error.h"

namespace whale::cli {
namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024.0 && u < 4) {
    b /= 1024.0;
    ++u;
  }
  return fmt::format("{:.{}f} {}", b, u == 0 ? 0 : 2, units[u]);
}

std::string human_count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.1f}K", n / 1e3);
  return fmt::format("{:.0f}", n);
}

}  // namespace

void register_inspect(CLI::App& app) {
  struct Options {
    std::string model;
    std::int64_t ctx = 0;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect", "Describe a model: shape, sizes, memory");
  cmd->add_option("model", opt->model, "Model folder or GGUF file")->required();
  // Bounded so that bytes-per-token * ctx cannot overflow.
  cmd->add_option("--ctx", opt->ctx, "Context length for the memory estimate (default 4096)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 32));
  cmd->add_flag("--json", opt->json, "Print one JSON object");
  cmd->callback([opt] {
    if (opt->model.ends_with(".gguf") || is_gguf_file(opt->model))
      return inspect_gguf(opt->model, opt->json);
    auto model = load_model(opt->model);
    const auto& s = model->summary();
    const auto* deepseek = dynamic_cast<const DeepSeekModel*>(model.get());
    const auto* dense = dynamic_cast<const DenseModel*>(model.get());
    if (deepseek == nullptr && dense == nullptr)
      fail("{}: inspect does not describe {} models yet", opt->model, s.architecture);
    const TensorSource& source = deepseek ? deepseek->source()
                                          : dense->source();
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_dtype;  // tensors, bytes
    std::int64_t tensor_bytes = 0;
    for (const auto& [name, t] : source.tensors()) {
      auto& e = by_dtype[std::string(dtype_name(t->dtype))];
      ++e.first;
      e.second += static_cast<std::int64_t>(t->data.size());
      tensor_bytes += static_cast<std::int64_t>(t->data.size());
    }
    const auto* ck = dynamic_cast<const Checkpoint*>(&source);
    const std::int64_t layers = deepseek ? deepseek->config().num_hidden_layers
                                         : dense->config().num_hidden_layers;
    const std::int64_t hidden = deepseek ? deepseek->config().hidden_size : dense->config().hidden_size;
    const std::int64_t ctx = opt->ctx > 0 ? opt->ctx : std::min<std::int64_t>(4096, s.context_length);
    const std::int64_t kv_bf16 = s.kv_values_per_token * 2, kv_f32 = s.kv_values_per_token * 4;
    const std::int64_t disk = ck ? static_cast<std::int64_t>(ck->bytes_on_disk()) : tensor_bytes;
    if (opt->json) {
      nlohmann::json j;
      j["architecture"] = s.architecture;
      j["description"] = s.description;
      j["layers"] = layers;
      j["hidden_size"] = hidden;
      j["vocab_size"] = s.vocab_size;
      j["context_length"] = s.context_length;
      j["total_parameters"] = s.total_parameters;
      j["active_parameters"] = s.active_parameters;
      j["mtp_parameters"] = s.mtp_parameters;
      j["bytes_on_disk"] = disk;
      j["weight_bytes_per_token"] = s.weight_bytes_per_token;
      j["kv_bytes_per_token_bf16"] = kv_bf16;
      j["kv_bytes_per_token_f32"] = kv_f32;
      j["memory_ctx"] = ctx;
      j["memory_bytes_bf16_cache"] = disk + kv_bf16 * ctx;
      for (const auto& [d, e] : by_dtype) j["dtypes"][d] = {{"tensors", e.first}, {"bytes", e.second}};
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("model         %s\n", opt->model.c_str());
    std::printf("architecture  %s\n", s.description.c_str());
    if (deepseek) {
      const DeepSeekConfig& c = deepseek->config();
      std::printf("shape         %lld layers (%lld dense first), hidden %lld, %lld heads, vocab %lld\n",
                  (long long)c.num_hidden_layers, (long long)std::min(c.first_k_dense_replace, c.num_hidden_layers),
                  (long long)c.hidden_size, (long long)c.num_attention_heads, (long long)c.vocab_size);
      std::printf("attention     MLA: q_lora %s, kv_lora %lld, nope %lld + rope %lld, v %lld; "
                  "softmax scale %.7f\n",
                  c.q_lora_rank ? std::to_string(*c.q_lora_rank).c_str() : "none",
                  (long long)c.kv_lora_rank, (long long)c.qk_nope_head_dim,
                  (long long)c.qk_rope_head_dim, (long long)c.v_head_dim, c.softmax_scale());
      if (c.n_routed_experts)
        std::printf("experts       %lld routed (top-%lld, %lld groups keep %lld), %lld shared, width "
                    "%lld, scaling %.3g\n",
                    (long long)*c.n_routed_experts, (long long)c.num_experts_per_tok,
                    (long long)c.n_group, (long long)c.topk_group, (long long)c.n_shared_experts,
                    (long long)c.moe_intermediate_size, c.routed_scaling_factor);
      if (c.rope_scaling)
        std::printf("rope          YaRN factor %g over %lld, beta %g/%g, mscale %g/%g\n",
                    c.rope_scaling->factor, (long long)c.rope_scaling->original_max_position_embeddings,
                    c.rope_scaling->beta_fast, c.rope_scaling->beta_slow, c.rope_scaling->mscale,
                    c.rope_scaling->mscale_all_dim);
    } else {
      const DenseConfig& c = dense->config();
      std::printf("shape         %lld layers, hidden %lld, MLP %lld, vocab %lld\n",
                  (long long)c.num_hidden_layers, (long long)c.hidden_size,
                  (long long)c.intermediate_size, (long long)c.vocab_size);
      std::printf("attention     %lld query heads, %lld KV heads of %lld dims; RoPE theta %g%s\n",
                  (long long)c.num_attention_heads, (long long)c.num_key_value_heads,
                  (long long)c.head_dim, c.rope_theta,
                  c.rope_scaling ? fmt::format(", llama3 x{} over {}", c.rope_scaling->factor,
                                               c.rope_scaling->original_max_position_embeddings)
                                       .c_str()
                                 : "");
    }
    std::printf("parameters    %s total, %s active per token", human_count(s.total_parameters).c_str(),
                human_count(s.active_parameters).c_str());
    if (s.mtp_parameters) std::printf(", %s in the MTP module", human_count(s.mtp_parameters).c_str());
    std::printf("\ncontext       %lld tokens\n", (long long)s.context_length);
    std::printf("on disk       %s in %zu file(s)\n", human_bytes(disk).c_str(), ck ? ck->shard_count() : std::size_t{1});
    for (const auto& [d, e] : by_dtype)
      std::printf("  %-8s    %lld tensors, %s\n", d.c_str(), (long long)e.first, human_bytes(e.second).c_str());
    std::printf("read/token    %s of weights per decoded token\n",
                human_bytes(s.weight_bytes_per_token).c_str());
    std::printf("kv cache      %lld values/token: %s/token in BF16, %s in F32\n",
                (long long)s.kv_values_per_token, human_bytes(kv_bf16).c_str(),
                human_bytes(kv_f32).c_str());
    std::printf("memory        %s at %lld tokens of context (weights mapped + BF16 cache)\n",
                human_bytes(disk + kv_bf16 * ctx).c_str(), (long long)ctx);
    std::printf("cpu           %s, kernels: %s\n", cpu_features().brand.c_str(), isa_name(active_isa()));
  });
}

}  // namespace whale::cli
