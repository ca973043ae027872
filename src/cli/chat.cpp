// whale chat [MODEL]: a conversation in the terminal. Answers stream as they are generated,
// reasoning dimmed (or hidden); history is kept within the context window; Ctrl-C stops an
// answer, not the program. With stdin not a terminal, the whole input is one message and only
// the answer is printed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"
#include "cli/text_model.h"
#include "runtime/text_generation.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/thread_pool.h"

namespace whale::cli {
namespace {

std::atomic<bool> g_interrupted{false};
// Self-pipe: the handler writes a byte so that a reader waiting in poll() wakes even when the
// signal arrived just before it started waiting.
int g_wake_pipe[2] = {-1, -1};

extern "C" void on_sigint(int) {
  g_interrupted.store(true);
  if (g_wake_pipe[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_wake_pipe[1], &byte, 1);
  }
}

void install_sigint_handler() {
  if (::pipe(g_wake_pipe) == 0) {
    for (const int fd : g_wake_pipe) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a read() at the prompt returns EINTR
  sigaction(SIGINT, &sa, nullptr);
}

enum class ReadStatus { kLine, kEof, kInterrupted };

// Lines from fd 0 with ::read, so that Ctrl-C at the prompt can be told apart from EOF.
class LineReader {
 public:
  ReadStatus read_line(std::string& line) {
    line.clear();
    for (;;) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return ReadStatus::kLine;
      }
      if (g_interrupted.exchange(false)) {
        drain_wake_pipe();
        buffer_.clear();
        return ReadStatus::kInterrupted;
      }
      if (g_wake_pipe[0] >= 0) {
        pollfd fds[2] = {{0, POLLIN, 0}, {g_wake_pipe[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) return ReadStatus::kEof;
        if (fds[1].revents & POLLIN) drain_wake_pipe();
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;  // woken by Ctrl-C
      }
      char chunk[4096];
      const ssize_t n = ::read(0, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0) {
        if (buffer_.empty()) return ReadStatus::kEof;
        line.swap(buffer_);
        return ReadStatus::kLine;
      } else if (errno == EINTR) {
        if (g_interrupted.exchange(false)) {
          buffer_.clear();
          return ReadStatus::kInterrupted;
        }
      } else {
        return ReadStatus::kEof;
      }
    }
  }

 private:
  static void drain_wake_pipe() {
    char sink[64];
    while (g_wake_pipe[0] >= 0 && ::read(g_wake_pipe[0], sink, sizeof sink) > 0) {
    }
  }

  std::string buffer_;
};

std::string read_all_stdin() {
  std::string text;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(0, chunk, sizeof chunk);
    if (n > 0) text.append(chunk, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

struct ChatOptions {
  std::string model, chat_format, system, cache_dtype = "bf16";
  std::vector<std::string> stop;
  double temperature = 0.6, top_p = 0.95, min_p = 0.0, repetition_penalty = 1.0;
  std::int64_t top_k = 0, max_tokens = 2048, ctx = 4096;
  std::int64_t seed = -1;
  int threads = 0;
  bool hide_reasoning = false, no_color = false, think = false;
};

class ChatLoop {
 public:
  ChatLoop(const ChatOptions& o, TextModel& m, ThreadPool& pool, bool tty)
      : o_(o),
        m_(m),
        session_(*m.model, pool, o.ctx, o.cache_dtype == "f32" ? CacheDType::kF32 : CacheDType::kBF16),
        tty_(tty),
        color_(tty && !o.no_color),
        system_(o.system),
        thinking_(o.think) {
    seed_ = o.seed >= 0 ? static_cast<std::uint64_t>(o.seed) : std::random_device{}();
  }

  void run_interactive() {
    const ModelSummary& s = m_.model->summary();
    std::printf("whale chat: %s (%s, %s format, context %lld tokens)\n", m_.path.c_str(),
                s.architecture.c_str(), std::string(chat_format_name(m_.format)).c_str(),
                static_cast<long long>(session_.context()));
    if (m_.demo)
      std::printf("%sThis demo model has random weights, so its words are meaningless; for a real "
                  "model: %s%s\n",
                  sgr("1;33").c_str(), kPullHint, sgr("0").c_str());
    std::printf("Type a message. /help lists commands; Ctrl-C stops an answer; Ctrl-D exits.\n");
    LineReader reader;
    for (;;) {
      std::string text;
      const ReadStatus st = read_message(reader, text);
      if (st == ReadStatus::kEof) {
        std::printf("\n");
        return;
      }
      if (st == ReadStatus::kInterrupted) {
        std::printf("\n(Ctrl-C: type /exit or press Ctrl-D to leave)\n");
        continue;
      }
      if (text.empty()) continue;
      if (text[0] == '/') {
        if (!command(text)) return;
        continue;
      }
      turn(text, true);
    }
  }

  void run_once(const std::string& text) {
    if (text.empty()) fail("stdin: no message to answer");
    turn(text, false);
  }

 private:
  // An ANSI SGR sequence, or nothing when colour is off. Each call owns its string, so several
  // can appear in one printf.
  std::string sgr(const char* code) const { return color_ ? std::string("\x1b[") + code + "m" : ""; }

  ReadStatus read_message(LineReader& reader, std::string& text) {
    // A line ending with '\' continues; a line of """ opens and closes a block.
    bool block = false;
    std::printf("%s> %s", sgr("1;36").c_str(), sgr("0").c_str());
    std::fflush(stdout);
    for (;;) {
      std::string line;
      const ReadStatus st = reader.read_line(line);
      if (st != ReadStatus::kLine) return st;
      if (line == "\"\"\"") {
        if (block) return ReadStatus::kLine;
        block = true;
      } else if (!block && !line.empty() && line.back() == '\\') {
        line.pop_back();
        text += line + "\n";
      } else {
        text += line;
        if (!block) return ReadStatus::kLine;
        text += "\n";
      }
      std::printf("%s.%s ", sgr("2").c_str(), sgr("0").c_str());
      std::fflush(stdout);
    }
  }

  ChatRequest request() const {
    ChatRequest r;
    if (!system_.empty()) r.messages.push_back({ChatRole::kSystem, system_, {}, {}, {}, false});
    r.messages.insert(r.messages.end(), history_.begin(), history_.end());
    if (m_.format == ChatFormatId::kDeepSeekV3_1) r.thinking = thinking_;
    r.add_generation_prompt = true;
    return r;
  }

  void turn(const std::string& text, bool interactive) {
    history_.push_back({ChatRole::kUser, text, {}, {}, {}, false});
    // Fit the conversation: drop the oldest exchanges until the prompt leaves room to answer.
    const std::int64_t reserve = std::min<std::int64_t>(o_.max_tokens, session_.context() / 2);
    int dropped = 0;
    std::string prompt;
    std::vector<std::int32_t> ids;
    for (;;) {
      prompt = render_chat(m_.format, request(), m_.bos_text);
      ids = m_.tokenizer->encode(prompt, /*add_special=*/false);
      if (static_cast<std::int64_t>(ids.size()) + reserve <= session_.context() || history_.size() <= 1)
        break;
      // Remove the oldest user message and everything up to the next user message.
      std::size_t end = 1;
      while (end < history_.size() && history_[end].role != ChatRole::kUser) ++end;
      history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(end));
      ++dropped;
    }
    if (dropped > 0 && interactive)
      std::printf("%s(dropped the %d oldest exchange%s to fit the context of %lld tokens)%s\n",
                  sgr("2;33").c_str(), dropped, dropped == 1 ? "" : "s",
                  static_cast<long long>(session_.context()), sgr("0").c_str());
    if (static_cast<std::int64_t>(ids.size()) >= session_.context()) {
      history_.pop_back();
      fail("message: {} tokens do not fit the context of {} tokens", ids.size(), session_.context());
    }

    GenerationRequest g;
    g.prompt = ids;
    g.sampling.temperature = o_.temperature;
    g.sampling.top_p = o_.top_p;
    g.sampling.top_k = o_.top_k;
    g.sampling.min_p = o_.min_p;
    g.sampling.repetition_penalty = o_.repetition_penalty;
    g.sampling.seed = seed_++;
    g.max_tokens = std::min<std::int64_t>(o_.max_tokens, session_.context() - static_cast<std::int64_t>(ids.size()));
    g.stop = o_.stop;
    g.reasoning_start = reasoning_start_for_prompt(prompt);

    bool in_reasoning = false, thinking_note = false, any_content = false;
    const auto on_piece = [&](const ReasoningSplit& piece) {
      if (!interactive) {  // piped: the answer only
        std::fwrite(piece.content.data(), 1, piece.content.size(), stdout);
        std::fflush(stdout);
        return true;
      }
      if (!piece.reasoning.empty()) {
        if (o_.hide_reasoning) {
          if (!thinking_note && tty_) std::printf("%s(thinking...)%s", sgr("2").c_str(), sgr("0").c_str());
          thinking_note = true;
        } else {
          if (!in_reasoning) std::printf("%s", sgr("2").c_str());
          in_reasoning = true;
          std::fwrite(piece.reasoning.data(), 1, piece.reasoning.size(), stdout);
        }
      }
      if (!piece.content.empty()) {
        if (in_reasoning) {
          std::printf("%s\n\n", sgr("0").c_str());
          in_reasoning = false;
        }
        if (thinking_note && tty_) std::printf("\r\x1b[K");
        thinking_note = false;
        std::string_view c = piece.content;
        if (!any_content)
          while (!c.empty() && c.front() == '\n') c.remove_prefix(1);
        any_content = any_content || !c.empty();
        std::fwrite(c.data(), 1, c.size(), stdout);
      }
      std::fflush(stdout);
      return true;
    };
    session_.reset_stats();
    g_interrupted.store(false);
    const GenerationResult r = generate_text(session_, *m_.tokenizer, g, on_piece, &g_interrupted);
    g_interrupted.store(false);
    if (in_reasoning) std::printf("%s", sgr("0").c_str());
    history_.push_back({ChatRole::kAssistant, r.content, r.reasoning, {}, {}, false});
    const SessionStats& st = session_.stats();
    total_tokens_ += static_cast<std::int64_t>(r.tokens.size());
    total_seconds_ += st.decode_seconds;
    ++turns_;
    if (!interactive) {
      std::printf("\n");
      return;
    }
    if (r.finish == FinishReason::kInterrupted) std::printf("%s [stopped]%s", sgr("2;33").c_str(), sgr("0").c_str());
    if (r.finish == FinishReason::kLength || r.finish == FinishReason::kContextFull)
      std::printf("%s [cut at the token limit]%s", sgr("2;33").c_str(), sgr("0").c_str());
    const double decode_tps = st.decode_seconds > 0 ? static_cast<double>(st.decoded_tokens) / st.decode_seconds : 0.0;
    const double prompt_tps = st.prompt_seconds > 0 ? static_cast<double>(st.prompt_tokens) / st.prompt_seconds : 0.0;
    std::printf("\n%s[%zu tokens, %.1f tokens/s; prompt %lld new tokens at %.1f tokens/s; context "
                "%zu/%lld]%s\n",
                sgr("2").c_str(), r.tokens.size(), decode_tps, static_cast<long long>(st.prompt_tokens),
                prompt_tps, session_.tokens().size(), static_cast<long long>(session_.context()),
                sgr("0").c_str());
  }

  // Returns false to leave.
  bool command(const std::string& line) {
    const auto space = line.find(' ');
    const std::string name = line.substr(0, space);
    const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
    try {
      if (name == "/exit" || name == "/quit" || name == "/bye") return false;
      if (name == "/help") {
        std::printf(
            "/reset          forget the conversation (keeps the system prompt)\n"
            "/system TEXT    set the system prompt (empty: none)\n"
            "/think on|off   reasoning mode, for formats that have a switch (DeepSeek-V3.1)\n"
            "/save FILE      save the conversation as JSON\n"
            "/load FILE      load a conversation saved with /save\n"
            "/stats          speed and context use\n"
            "/exit           leave (or Ctrl-D)\n"
            "A line ending with \\ continues on the next; \"\"\" opens and closes a block.\n");
      } else if (name == "/reset") {
        history_.clear();
        std::printf("(conversation cleared)\n");
      } else if (name == "/system") {
        system_ = arg;
        std::printf(system_.empty() ? "(system prompt cleared)\n" : "(system prompt set)\n");
      } else if (name == "/think") {
        if (arg != "on" && arg != "off") fail("/think: expected on or off, got '{}'", arg);
        thinking_ = arg == "on";
        if (m_.format != ChatFormatId::kDeepSeekV3_1)
          std::printf("(the %s format has no reasoning switch: %s)\n",
                      std::string(chat_format_name(m_.format)).c_str(),
                      m_.format == ChatFormatId::kDeepSeekR1 || m_.format == ChatFormatId::kDeepSeekR1_0528
                          ? "it always reasons"
                          : "this setting applies to DeepSeek-V3.1 formats");
        else
          std::printf("(thinking %s)\n", thinking_ ? "on" : "off");
      } else if (name == "/save") {
        if (arg.empty()) fail("/save: expected a file name");
        nlohmann::json j;
        j["format"] = std::string(chat_format_name(m_.format));
        j["system"] = system_;
        j["thinking"] = thinking_;
        j["messages"] = nlohmann::json::array();
        for (const auto& msg : history_)
          j["messages"].push_back({{"role", msg.role == ChatRole::kUser ? "user" : "assistant"},
                                   {"content", msg.content},
                                   {"reasoning_content", msg.reasoning_content}});
        std::ofstream out(arg);
        out << j.dump(2) << "\n";
        if (!out) fail("/save: cannot write {}", arg);
        std::printf("(saved %zu messages to %s)\n", history_.size(), arg.c_str());
      } else if (name == "/load") {
        if (arg.empty()) fail("/load: expected a file name");
        const nlohmann::json j = read_json_file(arg);
        if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
          fail("{}: expected a conversation saved by /save (an object with 'messages')", arg);
        std::vector<ChatMessage> loaded;
        for (std::size_t i = 0; i < j["messages"].size(); ++i) {
          const auto& msg = j["messages"][i];
          if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() ||
              !msg.contains("content") || !msg["content"].is_string())
            fail("{}: messages[{}] needs string fields role and content", arg, i);
          const std::string role = msg["role"];
          if (role != "user" && role != "assistant")
            fail("{}: messages[{}].role: expected user or assistant, got '{}'", arg, i, role);
          loaded.push_back({role == "user" ? ChatRole::kUser : ChatRole::kAssistant,
                            msg["content"], msg.value("reasoning_content", ""), {}, {}, false});
        }
        history_ = std::move(loaded);
        if (j.contains("system") && j["system"].is_string()) system_ = j["system"];
        if (j.contains("thinking") && j["thinking"].is_boolean()) thinking_ = j["thinking"];
        std::printf("(loaded %zu messages from %s)\n", history_.size(), arg.c_str());
      } else if (name == "/stats") {
        const ModelSummary& s = m_.model->summary();
        std::printf("model %s: %s, %.2fB parameters (%.2fB active)\n", m_.path.c_str(),
                    s.description.c_str(), static_cast<double>(s.total_parameters) / 1e9,
                    static_cast<double>(s.active_parameters) / 1e9);
        std::printf("%d answers, %lld tokens generated, %.1f tokens/s overall; context %zu/%lld tokens\n",
                    turns_, static_cast<long long>(total_tokens_),
                    total_seconds_ > 0 ? static_cast<double>(total_tokens_) / total_seconds_ : 0.0,
                    session_.tokens().size(), static_cast<long long>(session_.context()));
      } else {
        std::printf("unknown command %s; /help lists them\n", name.c_str());
      }
    } catch (const Error& e) {
      std::printf("%s%s%s\n", sgr("31").c_str(), e.what(), sgr("0").c_str());
    }
    return true;
  }

  const ChatOptions& o_;
  TextModel& m_;
  Session session_;
  bool tty_, color_;
  std::string system_;
  bool thinking_;
  std::uint64_t seed_ = 0;
  std::vector<ChatMessage> history_;
  std::int64_t total_tokens_ = 0;
  double total_seconds_ = 0;
  int turns_ = 0;
};

}  // namespace

void register_chat(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model in the terminal");
  cmd->add_option("model", o->model, "Model folder (default: the built-in demo model)");
  cmd->add_option("--chat-format", o->chat_format, "Chat format name (default: from the model)");
  cmd->add_option("--system", o->system, "System prompt");
  cmd->add_flag("--hide-reasoning", o->hide_reasoning, "Do not print the model's reasoning");
  cmd->add_flag("--think", o->think, "Start in thinking mode (DeepSeek-V3.1)");
  cmd->add_option("--temperature", o->temperature, "Sampling temperature (0: greedy)");
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling");
  cmd->add_option("--top-k", o->top_k, "Top-k sampling (0: off)");
  cmd->add_option("--min-p", o->min_p, "Min-p sampling");
  cmd->add_option("--repetition-penalty", o->repetition_penalty, "Repetition penalty");
  cmd->add_option("--seed", o->seed, "Sampling seed (default: random)");
  cmd->add_option("-n,--max-tokens", o->max_tokens, "Most tokens per answer")->check(CLI::PositiveNumber);
  cmd->add_option("-c,--ctx", o->ctx, "Context window in tokens")->check(CLI::PositiveNumber);
  cmd->add_option("--stop", o->stop, "Stop string (repeatable)");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all CPUs)");
  cmd->add_option("--cache-dtype", o->cache_dtype, "Latent cache storage: bf16 or f32")
      ->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_flag("--no-color", o->no_color, "Plain output");
  cmd->callback([o] {
    ThreadPool pool(o->threads > 0 ? o->threads : ThreadPool::default_threads());
    TextModel m = open_text_model(o->model, o->chat_format, pool);
    const bool tty = isatty(0) != 0;
    ChatLoop loop(*o, m, pool, isatty(1) != 0);
    if (tty) {
      install_sigint_handler();
      loop.run_interactive();
    } else {
      loop.run_once(read_all_stdin());
    }
  });
}

}  // namespace whale::cli
