// whale tokenize TOKENIZER [--decode] [--skip-special] [--no-bos]: JSON lines in, JSON lines
// out. Encoding reads {"text": "..."} and writes {"ids": [...]}; --decode reads {"ids": [...]}
// and writes {"text": "..."}. One output line per input line, in order.
//
// Hidden: --bench CHUNKS.jsonl times encoding ({"text"} lines, one thread) and prints one JSON
// object with the throughput; bench/tokenizer/run.sh uses it.
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "text/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale::cli {
namespace {

struct Options {
  std::string tokenizer;
  bool decode = false;
  bool skip_special = false;
  bool no_bos = false;
  std::string bench;
  int bench_passes = 3;
};

std::string line_name(std::size_t n) {
  return fmt::format("stdin line {}", n);
}

const nlohmann::json& field(const nlohmann::json& line, const char* key, std::size_t n) {
  if (!line.is_object())
    fail("{}: expected a JSON object, got {}", line_name(n), json_type_name(line));
  const auto it = line.find(key);
  if (it == line.end()) fail("{}: field \"{}\" is missing", line_name(n), key);
  return *it;
}

std::string encode_line(const Tokenizer& tok, const Options& opt, const nlohmann::json& line,
                        std::size_t n) {
  const auto& text = field(line, "text", n);
  if (!text.is_string())
    fail("{}: \"text\" is {}, expected a string", line_name(n), json_type_name(text));
  const auto ids = tok.encode(text.get_ref<const std::string&>(), !opt.no_bos);
  return fmt::format("{{\"ids\":[{}]}}\n", fmt::join(ids, ","));
}

std::string decode_line(const Tokenizer& tok, const Options& opt, const nlohmann::json& line,
                        std::size_t n) {
  const auto& list = field(line, "ids", n);
  if (!list.is_array())
    fail("{}: \"ids\" is {}, expected an array of token ids", line_name(n), json_type_name(list));
  std::vector<std::int32_t> ids;
  ids.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& id = list[i];
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT32_MAX)
      fail("{}: ids[{}] is {}, expected a token id (a non-negative integer)", line_name(n), i,
           id.is_number() ? id.dump() : json_type_name(id));
    ids.push_back(id.get<std::int32_t>());
  }
  nlohmann::json out;
  out["text"] = tok.decode(ids, opt.skip_special);
  return out.dump() + "\n";
}

void run_bench(const Tokenizer& tok, const Options& opt) {
  std::ifstream in(opt.bench, std::ios::binary);
  if (!in) fail("{}: cannot open", opt.bench);
  std::vector<std::string> chunks;
  std::size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = parse_json(line, fmt::format("{} line {}", opt.bench, chunks.size() + 1));
    chunks.push_back(field(j, "text", chunks.size() + 1).get<std::string>());
    bytes += chunks.back().size();
  }
  nlohmann::json report;
  std::vector<double> wall_s, cpu_s;
  std::size_t tokens = 0;
  for (int pass = 0; pass < opt.bench_passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    tokens = 0;
    for (const std::string& chunk : chunks) tokens += tok.encode(chunk, false).size();
    cpu_s.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    wall_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  report["bytes"] = bytes;
  report["chunks"] = chunks.size();
  report["tokens"] = tokens;
  report["wall_s"] = wall_s;
  report["cpu_s"] = cpu_s;
  // MB = 10^6 bytes of UTF-8 input; the first pass starts with an empty word cache.
  report["cold_mb_s"] = bytes / 1e6 / wall_s.front();
  double best_wall = wall_s.front(), best_cpu = cpu_s.front();
  for (std::size_t i = 1; i < wall_s.size(); ++i) {
    best_wall = std::min(best_wall, wall_s[i]);
    best_cpu = std::min(best_cpu, cpu_s[i]);
  }
  report["warm_mb_s"] = bytes / 1e6 / best_wall;
  report["warm_mb_per_cpu_s"] = bytes / 1e6 / best_cpu;
  std::printf("%s\n", report.dump().c_str());
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Text to token ids (or back with --decode), JSON lines on stdin and stdout");
  cmd->add_option("tokenizer", opt->tokenizer, "Model folder or tokenizer.json")->required();
  cmd->add_flag("--decode", opt->decode, "Read {\"ids\": [...]} lines, write {\"text\": ...}");
  cmd->add_flag("--skip-special", opt->skip_special, "With --decode: drop special tokens");
  cmd->add_flag("--no-bos", opt->no_bos, "Do not add BOS (or EOS) even if the config asks to");
  cmd->add_option("--bench", opt->bench)->group("");
  cmd->add_option("--bench-passes", opt->bench_passes)->group("")->check(CLI::PositiveNumber);
  cmd->callback([opt] {
    const Tokenizer tok = Tokenizer::load(opt->tokenizer);
    if (!opt->bench.empty()) return run_bench(tok, *opt);
    std::ios::sync_with_stdio(false);
    std::size_t n = 0;
    for (std::string line; std::getline(std::cin, line);) {
      ++n;
      const nlohmann::json j = parse_json(line, line_name(n));
      const std::string out =
          opt->decode ? decode_line(tok, *opt, j, n) : encode_line(tok, *opt, j, n);
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
    if (std::fflush(stdout) != 0) fail("stdout: write error");
  });
}

}  // namespace whale::cli
