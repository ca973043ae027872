// whale generate MODEL --ids ... -n N [--temperature T]: prints generated token ids.
// whale generate [MODEL] -p TEXT: one-shot text; the prompt goes through the model's chat
// format unless --raw, and only the answer is printed (--show-reasoning adds the reasoning).
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "cli/text_model.h"
#include "model/load.h"
#include "runtime/sampler.h"
#include "runtime/text_generation.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace whale::cli {

void register_generate(CLI::App& app) {
  struct Options {
    std::string model, ids, prompt, chat_format;
    std::int64_t n = 16;
    double temperature = 0.0, top_p = 1.0;
    std::uint64_t seed = 0;
    int threads = 0;
    bool raw = false, show_reasoning = false;
    std::vector<std::string> stop;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate token ids after a prompt of ids");
  cmd->add_option("model", opt->model, "Model folder (default with -p: the demo model)");
  auto* ids_opt = cmd->add_option("--ids", opt->ids, "Comma-separated prompt token ids");
  auto* prompt_opt = cmd->add_option("-p,--prompt", opt->prompt, "Prompt text");
  ids_opt->excludes(prompt_opt);
  cmd->add_flag("--raw", opt->raw, "With -p: feed the text as is, without the chat format");
  cmd->add_flag("--show-reasoning", opt->show_reasoning, "With -p: print the reasoning too");
  cmd->add_option("--chat-format", opt->chat_format, "With -p: chat format name");
  cmd->add_option("--top-p", opt->top_p, "Nucleus sampling");
  cmd->add_option("--stop", opt->stop, "With -p: stop string (repeatable)");
  cmd->add_option("-n,--max-tokens", opt->n, "Tokens to generate")->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", opt->temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->seed, "Sampling seed");
  cmd->add_option("-t,--threads", opt->threads, "Threads (default: all CPUs)");
  cmd->callback([opt] {
    if (opt->ids.empty() == opt->prompt.empty()) fail("generate: give either --ids or -p TEXT");
    if (!opt->prompt.empty()) {
      ThreadPool pool(opt->threads > 0 ? opt->threads : ThreadPool::default_threads());
      TextModel m = open_text_model(opt->model, opt->chat_format, pool);
      std::string text = opt->prompt;
      if (!opt->raw) {
        ChatRequest request;
        request.messages.push_back({ChatRole::kUser, opt->prompt, {}, {}, {}, false});
        text = render_chat(m.format, request, m.bos_text);
      }
      GenerationRequest g;
      g.prompt = m.tokenizer->encode(text, /*add_special=*/opt->raw);
      g.max_tokens = opt->n;
      g.sampling.temperature = opt->temperature;
      g.sampling.top_p = opt->top_p;
      g.sampling.seed = opt->seed;
      g.stop = opt->stop;
      g.reasoning_start = opt->raw ? ReasoningStart::kAnswer : reasoning_start_for_prompt(text);
      const auto context = static_cast<std::int64_t>(g.prompt.size()) + opt->n;
      if (context > m.model->summary().context_length)
        fail("-p/-n: {} prompt tokens + {} new tokens exceed the model's context of {} tokens",
             g.prompt.size(), opt->n, m.model->summary().context_length);
      Session session(*m.model, pool, context, CacheDType::kF32);
      bool reasoning_open = false;
      generate_text(session, *m.tokenizer, g, [&](const ReasoningSplit& piece) {
        if (opt->show_reasoning && !piece.reasoning.empty()) {
          if (!reasoning_open) std::fputs("<think>\n", stdout);
          reasoning_open = true;
          std::fwrite(piece.reasoning.data(), 1, piece.reasoning.size(), stdout);
        }
        if (!piece.content.empty()) {
          if (reasoning_open) std::fputs("\n</think>\n\n", stdout);
          reasoning_open = false;
          std::fwrite(piece.content.data(), 1, piece.content.size(), stdout);
        }
        std::fflush(stdout);
        return true;
      });
      if (reasoning_open) std::fputs("\n</think>\n", stdout);
      std::fputs("\n", stdout);
      return;
    }
    if (opt->model.empty()) fail("generate: --ids needs a MODEL folder");
    const auto ids = parse_id_list(opt->ids, "--ids");
    auto model = load_model(opt->model);
    prefault_weights(*model, opt->model);
    const auto& s = model->summary();
    check_ids_in_vocabulary(ids, s.vocab_size, "--ids", opt->model);
    // Compared without forming ids + n, which overflows for a huge -n.
    if (opt->n > s.context_length - static_cast<std::int64_t>(ids.size()))
      fail("--ids/-n: {} prompt ids + {} new tokens exceed the model's context of {} tokens",
           ids.size(), opt->n, s.context_length);
    const std::int64_t total = static_cast<std::int64_t>(ids.size()) + opt->n;
    ThreadPool pool(opt->threads > 0 ? opt->threads : ThreadPool::default_threads());
    auto cache = model->create_cache(1, total, CacheDType::kF32);
    Sampler sampler({.temperature = opt->temperature, .top_p = opt->top_p, .seed = opt->seed});
    ForwardResult result;
    std::vector<BatchToken> batch;
    for (std::size_t i = 0; i < ids.size(); ++i)
      batch.push_back({ids[i], 0, static_cast<std::int64_t>(i), i + 1 == ids.size()});
    std::vector<std::int32_t> generated;
    for (std::int64_t step = 0; step < opt->n; ++step) {
      model->forward(batch, *cache, pool, {}, result);
      const std::int32_t next = sampler.sample(result.logits, {});
      generated.push_back(next);
      batch = {{next, 0, static_cast<std::int64_t>(ids.size()) + step, true}};
    }
    for (std::size_t i = 0; i < generated.size(); ++i)
      std::printf("%s%d", i ? "," : "", generated[i]);
    std::printf("\n");
  });
}

}  // namespace whale::cli
