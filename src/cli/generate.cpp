// whale generate MODEL --ids ... -n N [--temperature T]: prints generated token ids.
#include <cmath>
#include <cstdio>
#include <random>

#include "cli/commands.h"
#include "model/load.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale::cli {

void register_generate(CLI::App& app) {
  struct Options {
    std::string model, ids;
    std::int64_t n = 16;
    double temperature = 0.0;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate token ids after a prompt of ids");
  cmd->add_option("model", opt->model, "Model folder")->required();
  cmd->add_option("--ids", opt->ids, "Comma-separated prompt token ids")->required();
  cmd->add_option("-n,--max-tokens", opt->n, "Tokens to generate")->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", opt->temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->seed, "Sampling seed");
  cmd->add_option("-t,--threads", opt->threads, "Threads (default: all CPUs)");
  cmd->callback([opt] {
    const auto ids = parse_id_list(opt->ids, "--ids");
    auto model = load_model(opt->model);
    const auto& s = model->summary();
    check_ids_in_vocabulary(ids, s.vocab_size, "--ids", opt->model);
    // Compared without forming ids + n, which overflows for a huge -n.
    if (opt->n > s.context_length - static_cast<std::int64_t>(ids.size()))
      fail("--ids/-n: {} prompt ids + {} new tokens exceed the model's context of {} tokens",
           ids.size(), opt->n, s.context_length);
    const std::int64_t total = static_cast<std::int64_t>(ids.size()) + opt->n;
    ThreadPool pool(opt->threads > 0 ? opt->threads : ThreadPool::default_threads());
    auto cache = model->create_cache(1, total, CacheDType::kF32);
    std::mt19937_64 rng(opt->seed);
    ForwardResult result;
    std::vector<BatchToken> batch;
    for (std::size_t i = 0; i < ids.size(); ++i)
      batch.push_back({ids[i], 0, static_cast<std::int64_t>(i), i + 1 == ids.size()});
    std::vector<std::int32_t> generated;
    for (std::int64_t step = 0; step < opt->n; ++step) {
      model->forward(batch, *cache, pool, {}, result);
      const float* logits = result.logits.data();
      std::int32_t next = 0;
      if (opt->temperature <= 0.0) {
        for (std::int64_t v = 1; v < s.vocab_size; ++v)
          if (logits[v] > logits[next]) next = static_cast<std::int32_t>(v);
      } else {
        std::vector<double> p(static_cast<std::size_t>(s.vocab_size));
        const float max = *std::max_element(logits, logits + s.vocab_size);
        for (std::int64_t v = 0; v < s.vocab_size; ++v)
          p[v] = std::exp((logits[v] - max) / opt->temperature);
        std::discrete_distribution<std::int32_t> dist(p.begin(), p.end());
        next = dist(rng);
      }
      generated.push_back(next);
      batch = {{next, 0, static_cast<std::int64_t>(ids.size()) + step, true}};
    }
    for (std::size_t i = 0; i < generated.size(); ++i)
      std::printf("%s%d", i ? "," : "", generated[i]);
    std::printf("\n");
  });
}

}  // namespace whale::cli
