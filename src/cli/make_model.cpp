// whale make-model: placeholder until the writer lands.
#include "cli/commands.h"
#include "util/error.h"

namespace whale::cli {

void register_make_model(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("make-model", "Write a random-weight checkpoint");
  cmd->callback([] { fail("make-model: not built yet"); });
}

}  // namespace whale::cli
