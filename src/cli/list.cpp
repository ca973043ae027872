// whale list: the models in the local models folder, with their size and type.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "cli/commands.h"
#include "hub/local_models.h"
#include "util/byte_size.h"

namespace whale::cli {

void register_list(CLI::App& app) {
  auto models_dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("list", "Show the models in the local models folder");
  cmd->add_option("--models-dir", *models_dir,
                  "Models folder (default $WHALE_MODELS or ~/.cache/whale/models)");
  cmd->callback([models_dir] {
    const std::string dir = models_dir->empty() ? hub::default_models_dir() : *models_dir;
    const std::vector<hub::LocalModel> models = hub::list_local_models(dir);
    if (models.empty()) {
      fmt::print(stderr, "no models in {} (whale pull ORG/NAME downloads one)\n", dir);
      return;
    }
    using Row = std::array<std::string, 5>;
    std::vector<Row> rows = {{"NAME", "SIZE", "FORMAT", "FILES", "TYPE"}};
    for (const auto& m : models) {
      std::string type = m.model_type.empty() ? "-" : m.model_type;
      if (m.incomplete) type += " (incomplete: run whale pull again)";
      rows.push_back(
          {m.name, format_byte_size(m.bytes), m.format, std::to_string(m.weight_files), type});
    }
    std::array<std::size_t, 5> width{};
    for (const Row& row : rows)
      for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    for (const Row& row : rows)
      fmt::print("{:<{}}  {:>{}}  {:<{}}  {:>{}}  {}\n", row[0], width[0], row[1], width[1], row[2],
                 width[2], row[3], width[3], row[4]);
  });
}

}  // namespace whale::cli
