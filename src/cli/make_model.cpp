// whale make-model --shape NAME --out DIR [--dtype f32|bf16|fp8] [--seed S]: writes a
// random-weight checkpoint in DeepSeek's Hugging Face layout (model/random_checkpoint.h).
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "model/random_checkpoint.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale::cli {
namespace {

// "1.23 GB": decimal units, as Hugging Face sizes shards.
std::string gigabytes(std::uint64_t bytes) {
  return fmt::format("{:.2f} GB", bytes / 1e9);
}

// One progress line on stderr: redrawn in place on a terminal, else a line every 10%.
class ProgressLine {
 public:
  explicit ProgressLine(std::uint64_t total_bytes)
      : terminal_(::isatty(STDERR_FILENO) != 0),
        enabled_(terminal_ || total_bytes > 100'000'000),
        start_(std::chrono::steady_clock::now()) {}

  void update(std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (terminal_ ? percent == last_percent_ : percent / 10 == last_percent_ / 10) return;
    last_percent_ = percent;
    std::fprintf(stderr, "%smake-model: %s of %s (%d%%), %.1f s", terminal_ ? "\r" : "",
                 gigabytes(done).c_str(), gigabytes(total).c_str(), percent, seconds());
    if (!terminal_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

  void finish() {
    if (enabled_ && terminal_) std::fprintf(stderr, "\n");
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  bool terminal_;
  bool enabled_;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

void register_make_model(CLI::App& app) {
  struct Options {
    std::string shape, out, dtype = "bf16";
    std::uint64_t seed = 0;
    std::uint64_t max_shard_bytes = 5'000'000'000;
    bool force = false;
    int threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "make-model", "Write a random-weight checkpoint in Hugging Face layout (DeepSeek, Qwen2, Llama)");
  cmd->add_option("--shape", opt->shape,
                  fmt::format("Model shape: {}, {}", fmt::join(model_shape_names(), ", "),
                              fmt::join(dense_model_shape_names(), ", ")))
      ->required();
  cmd->add_option("--out", opt->out, "Output folder (created; must be empty unless --force)")
      ->required();
  cmd->add_option("--dtype", opt->dtype,
                  "Weight format: f32, bf16 (default), or fp8 (the V3 release's block FP8)");
  cmd->add_option("--seed", opt->seed, "Random seed (default 0)");
  cmd->add_option("--max-shard-bytes", opt->max_shard_bytes,
                  "Largest shard before splitting into model-0000K-of-0000N files (default 5GB)")
      ->transform(CLI::AsSizeValue(true));
  cmd->add_flag("--force", opt->force, "Replace config.json and weights in a non-empty folder");
  cmd->add_option("-t,--threads", opt->threads, "Threads (default: all CPUs)");
  cmd->callback([opt] {
    const std::optional<DenseConfig> dense = dense_model_shape(opt->shape);
    const DeepSeekConfig config = dense ? DeepSeekConfig{} : model_shape(opt->shape);
    RandomCheckpointOptions options;
    options.format = parse_weight_format(opt->dtype);
    options.seed = opt->seed;
    options.max_shard_bytes = opt->max_shard_bytes;
    options.overwrite = opt->force;
    if (options.max_shard_bytes == 0) fail("--max-shard-bytes: must be at least 1");

    std::uint64_t total = 0;
    for (const auto& t : dense ? random_dense_checkpoint_tensors(*dense, options.format)
                               : random_checkpoint_tensors(config, options.format))
      total += t.bytes();
    ProgressLine progress(total);
    options.progress = [&](std::uint64_t done, std::uint64_t all) { progress.update(done, all); };

    ThreadPool pool(opt->threads > 0 ? opt->threads : ThreadPool::default_threads());
    if (dense)
      write_random_dense_checkpoint(opt->out, *dense, options, pool);
    else
      write_random_checkpoint(opt->out, config, options, pool);
    progress.finish();
    std::fprintf(stderr, "make-model: wrote %s (%s, %s) to %s in %.1f s\n", opt->shape.c_str(),
                 opt->dtype.c_str(), gigabytes(total).c_str(), opt->out.c_str(),
                 progress.seconds());
  });
}

}  // namespace whale::cli
