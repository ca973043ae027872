// Each subcommand registers itself on the top-level CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace whale::cli {

void register_inspect(CLI::App& app);
void register_logits(CLI::App& app);
void register_generate(CLI::App& app);
void register_make_model(CLI::App& app);
void register_bench(CLI::App& app);
void register_prompt(CLI::App& app);
void register_chat(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_pull(CLI::App& app);
void register_list(CLI::App& app);
void register_quantize(CLI::App& app);

// whale inspect on a GGUF file (or the first part of a split one); `json` prints one object.
void inspect_gguf(const std::string& path, bool json);

// Model::prefault, saying on stderr before it re-reads the weights into 2 MiB pages (which
// takes as long as reading them from disk) and why.
PrefaultStats prefault_weights(const Model& model, const std::string& path);

// "0,5,7" -> {0, 5, 7}; throws whale::Error naming `option` on malformed input.
std::vector<std::int32_t> parse_id_list(const std::string& text, const std::string& option);

// Throws whale::Error naming `option` and `model` when an id is not below `vocab_size`.
void check_ids_in_vocabulary(const std::vector<std::int32_t>& ids, std::int64_t vocab_size,
                             const std::string& option, const std::string& model);

}  // namespace whale::cli
