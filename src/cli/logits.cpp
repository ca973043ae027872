// whale logits MODEL --ids ... [--prefill N] --out FILE: raw little-endian float32 logits,
// [number of ids, vocab], the first N ids in one prefill and the rest one at a time.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "model/load.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale::cli {

void register_logits(CLI::App& app) {
  struct Options {
    std::string model, ids, out, experts_out, cache_dtype = "f32";
    std::int64_t prefill = 0;
    int threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("logits", "Write raw float32 logits for a list of token ids");
  cmd->add_option("model", opt->model, "Model folder or GGUF file")->required();
  cmd->add_option("--ids", opt->ids, "Comma-separated token ids")->required();
  cmd->add_option("--prefill", opt->prefill, "Ids fed in the first (prefill) call; default all");
  cmd->add_option("--out", opt->out, "Output file: float32 [ids, vocab]")->required();
  cmd->add_option("--experts-out", opt->experts_out, "Also write MoE routing choices as JSON");
  cmd->add_option("-t,--threads", opt->threads, "Threads (default: all CPUs)");
  cmd->add_option("--cache-dtype", opt->cache_dtype, "Latent cache storage: f32 or bf16")
      ->check(CLI::IsMember({"f32", "bf16"}));
  cmd->callback([opt, cmd] {
    const auto ids = parse_id_list(opt->ids, "--ids");
    const auto n = static_cast<std::int64_t>(ids.size());
    const std::int64_t prefill = cmd->count("--prefill") > 0 ? opt->prefill : n;
    if (prefill < 1 || prefill > n)
      fail("--prefill: {} is outside [1, {}] (the number of ids)", prefill, n);
    auto model = load_model(opt->model);
    prefault_weights(*model, opt->model);
    const auto& s = model->summary();
    check_ids_in_vocabulary(ids, s.vocab_size, "--ids", opt->model);
    if (n > s.context_length)
      fail("--ids: {} ids exceed the model's context of {} tokens", n, s.context_length);
    ThreadPool pool(opt->threads > 0 ? opt->threads : ThreadPool::default_threads());
    auto cache = model->create_cache(
        1, n, opt->cache_dtype == "bf16" ? CacheDType::kBF16 : CacheDType::kF32);

    std::ofstream out(opt->out, std::ios::binary);
    if (!out) fail("--out: cannot write {}", opt->out);
    nlohmann::json experts = nlohmann::json::object();
    std::vector<std::vector<std::vector<std::int32_t>>> per_layer;  // [moe layer][pos][k]
    std::vector<std::int64_t> moe_layers;
    ForwardResult result;
    ForwardOptions fo;
    fo.record_routes = !opt->experts_out.empty();
    std::int64_t done = 0;
    while (done < n) {
      const std::int64_t count = done == 0 ? prefill : 1;
      std::vector<BatchToken> batch;
      for (std::int64_t i = 0; i < count; ++i) batch.push_back({ids[done + i], 0, done + i, true});
      model->forward(batch, *cache, pool, fo, result);
      out.write(reinterpret_cast<const char*>(result.logits.data()),
                static_cast<std::streamsize>(result.logits.size() * sizeof(float)));
      if (fo.record_routes) {
        moe_layers = result.moe_layers;
        per_layer.resize(result.routes.size());
        const std::int64_t k = s.experts_per_token;
        for (std::size_t j = 0; j < result.routes.size(); ++j)
          for (std::int64_t i = 0; i < count; ++i) {
            std::vector<std::int32_t> e(result.routes[j].begin() + i * k,
                                        result.routes[j].begin() + (i + 1) * k);
            std::sort(e.begin(), e.end());
            per_layer[j].push_back(e);
          }
      }
      done += count;
    }
    if (!out) fail("--out: write to {} failed", opt->out);
    if (fo.record_routes) {
      experts["moe_layers"] = moe_layers;
      experts["num_positions"] = n;
      experts["experts"] = per_layer;
      std::ofstream e(opt->experts_out);
      if (!e) fail("--experts-out: cannot write {}", opt->experts_out);
      e << experts.dump() << "\n";
    }
  });
}

}  // namespace whale::cli
