// whale bench MODEL: prefill and decode tokens/s over repeated runs, the effective memory
// bandwidth of decoding and its fraction of what this machine measures, peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "kernels/bandwidth.h"
#include "kernels/cpu_features.h"
#include "model/deepseek.h"
#include "model/load.h"
#include "util/byte_size.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale::cli {
namespace {

struct Stats {
  double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {median, v.front(), v.back()};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::int64_t>(u.ru_maxrss) * 1024;
}

}  // namespace

void register_bench(CLI::App& app) {
  struct Options {
    std::string model, cache_dtype = "bf16", mla_form = "auto";
    std::int64_t prompt = 512, gen = 128, depth = 0;
    int threads = 0, repeats = 3;
    bool json = false, no_bandwidth = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prefill and decode speed");
  cmd->add_option("model", opt->model, "Model folder or GGUF file")->required();
  cmd->add_option("-p,--prompt", opt->prompt, "Prefill length (0: skip)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--gen", opt->gen, "Decoded tokens (0: skip)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--depth", opt->depth, "Tokens already in the cache before measuring")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", opt->threads, "Threads (default: all CPUs)");
  cmd->add_option("-r,--repeats", opt->repeats, "Runs per measurement")->check(CLI::PositiveNumber);
  cmd->add_option("--cache-dtype", opt->cache_dtype, "Latent cache storage: bf16 or f32")
      ->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_option("--mla-form", opt->mla_form,
                  "DeepSeek attention in prefill: auto (the cheaper), absorbed or expanded")
      ->check(CLI::IsMember({"auto", "absorbed", "expanded"}));
  cmd->add_flag("--json", opt->json, "Print one JSON object");
  cmd->add_flag("--no-bandwidth", opt->no_bandwidth, "Skip measuring the machine's bandwidth");
  cmd->callback([opt] {
    auto model = load_model(opt->model);
    const PrefaultStats weights = prefault_weights(*model, opt->model);
    if (auto* deepseek = dynamic_cast<DeepSeekModel*>(model.get())) {
      deepseek->set_mla_form(opt->mla_form == "absorbed"   ? MlaForm::kAbsorbed
                             : opt->mla_form == "expanded" ? MlaForm::kExpanded
                                                           : MlaForm::kAuto);
    }
    const ModelSummary& s = model->summary();
    const std::int64_t capacity = opt->depth + opt->prompt + opt->gen + 1;
    if (capacity > s.context_length)
      fail("--depth/-p/-n: {} tokens exceed the model's context of {}", capacity, s.context_length);
    const int threads = opt->threads > 0 ? opt->threads : ThreadPool::default_threads();
    ThreadPool pool(threads);
    const CacheDType cache_dtype = opt->cache_dtype == "f32" ? CacheDType::kF32 : CacheDType::kBF16;
    std::mt19937 rng(1234);
    std::uniform_int_distribution<std::int32_t> any_token(
        0, static_cast<std::int32_t>(s.vocab_size - 1));

    std::vector<double> prefill_tps, decode_tps;
    ForwardResult result;
    for (int r = 0; r < opt->repeats; ++r) {
      auto cache = model->create_cache(1, capacity, cache_dtype);
      std::int64_t pos = 0;
      // Fill the context (untimed), in chunks as a server would.
      while (pos < opt->depth) {
        std::vector<BatchToken> batch;
        for (std::int64_t i = 0; i < 512 && pos < opt->depth; ++i, ++pos)
          batch.push_back({any_token(rng), 0, pos, false});
        model->forward(batch, *cache, pool, {}, result);
      }
      if (opt->prompt > 0) {
        std::vector<BatchToken> batch;
        for (std::int64_t i = 0; i < opt->prompt; ++i)
          batch.push_back({any_token(rng), 0, pos + i, i + 1 == opt->prompt});
        const auto t0 = std::chrono::steady_clock::now();
        model->forward(batch, *cache, pool, {}, result);
        prefill_tps.push_back(static_cast<double>(opt->prompt) / seconds_since(t0));
        pos += opt->prompt;
      }
      if (opt->gen > 0) {
        std::int32_t next = any_token(rng);
        const auto t0 = std::chrono::steady_clock::now();
        for (std::int64_t i = 0; i < opt->gen; ++i) {
          const BatchToken tok{next, 0, pos++, true};
          model->forward({&tok, 1}, *cache, pool, {}, result);
          next = static_cast<std::int32_t>(
              std::max_element(result.logits.begin(), result.logits.end()) - result.logits.begin());
        }
        decode_tps.push_back(static_cast<double>(opt->gen) / seconds_since(t0));
      }
    }
    const Stats pf = stats(prefill_tps), dc = stats(decode_tps);
    const std::int64_t kv_bytes_per_token =
        s.kv_values_per_token * (cache_dtype == CacheDType::kF32 ? 4 : 2);
    // Bytes one decode step reads: the active weights plus the cache at the mean depth.
    const double mean_ctx =
        static_cast<double>(opt->depth + opt->prompt) + static_cast<double>(opt->gen) / 2;
    const double bytes_per_step = static_cast<double>(s.weight_bytes_per_token) +
                                  mean_ctx * static_cast<double>(kv_bytes_per_token);
    const double effective = dc.median * bytes_per_step;
    const std::int64_t peak_rss = peak_rss_bytes();  // before the bandwidth probe's buffer
    const double bandwidth = opt->no_bandwidth ? 0.0 : measure_read_bandwidth(pool);
    const double fraction = bandwidth > 0 ? effective / bandwidth : 0.0;

    if (opt->json) {
      nlohmann::json j;
      j["model"] = opt->model;
      j["architecture"] = s.architecture;
      j["threads"] = threads;
      j["isa"] = isa_name(active_isa());
      j["cpu"] = cpu_features().brand;
      j["prompt_tokens"] = opt->prompt;
      j["gen_tokens"] = opt->gen;
      j["depth"] = opt->depth;
      j["repeats"] = opt->repeats;
      j["prefill_tokens_per_s"] = pf.median;
      j["prefill_tokens_per_s_min"] = pf.min;
      j["prefill_tokens_per_s_max"] = pf.max;
      j["decode_tokens_per_s"] = dc.median;
      j["decode_tokens_per_s_min"] = dc.min;
      j["decode_tokens_per_s_max"] = dc.max;
      j["weight_bytes_per_token"] = s.weight_bytes_per_token;
      j["kv_bytes_per_token"] = kv_bytes_per_token;
      j["effective_bytes_per_s"] = effective;
      j["machine_bytes_per_s"] = bandwidth;
      j["bandwidth_fraction"] = fraction;
      j["decode_bound_tokens_per_s"] = bandwidth > 0 ? bandwidth / bytes_per_step : 0.0;
      j["peak_rss_bytes"] = peak_rss;
      j["weight_file_bytes"] = weights.bytes;
      if (const auto f = weights.huge_fraction())
        j["weight_huge_page_fraction"] = *f;
      else
        j["weight_huge_page_fraction"] = nullptr;
      j["weight_reread_bytes"] = weights.reread_bytes;
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("model      %s (%s)\n", opt->model.c_str(), s.description.c_str());
    std::printf("machine    %s, %d threads, kernels %s\n", cpu_features().brand.c_str(), threads,
                isa_name(active_isa()));
    if (opt->prompt > 0)
      std::printf(
          "prefill    %lld tokens at depth %lld: %.1f tokens/s (min %.1f, max %.1f, %d runs)\n",
          (long long)opt->prompt, (long long)opt->depth, pf.median, pf.min, pf.max, opt->repeats);
    if (opt->gen > 0) {
      std::printf("decode     %lld tokens from depth %lld: %.2f tokens/s (min %.2f, max %.2f)\n",
                  (long long)opt->gen, (long long)(opt->depth + opt->prompt), dc.median, dc.min,
                  dc.max);
      std::printf("bandwidth  %.1f GB/s effective (%.1f MB/token)", effective / 1e9,
                  bytes_per_step / 1e6);
      if (bandwidth > 0)
        std::printf(" of %.1f GB/s measured: %.0f%% of the bound (%.1f tokens/s)%s",
                    bandwidth / 1e9, 100 * fraction, bandwidth / bytes_per_step,
                    fraction > 1.0 ? "; above 100%: the machine's bandwidth changed between the "
                                     "run and its measurement (other load?), run again"
                                   : "");
      std::printf("\n");
    }
    std::printf("weights    %s",
                format_byte_size(static_cast<std::int64_t>(weights.bytes)).c_str());
    if (const auto f = weights.huge_fraction())
      std::printf(", %.0f%% mapped in 2 MiB pages", 100 * *f);
    if (weights.reread_bytes > 0)
      std::printf(" (%s re-read into them in %.1f s)",
                  format_byte_size(static_cast<std::int64_t>(weights.reread_bytes)).c_str(),
                  weights.reread_seconds);
    std::printf("\n");
    std::printf("kv cache   %lld bytes/token (%s)\n", (long long)kv_bytes_per_token,
                opt->cache_dtype.c_str());
    std::printf("peak RSS   %.1f MiB\n", static_cast<double>(peak_rss) / (1 << 20));
  });
}

}  // namespace whale::cli
