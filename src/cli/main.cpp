// whale: run DeepSeek models on the computers people already have.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"whale: runs DeepSeek models locally on CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "whale 0.1.0");
  whale::cli::register_inspect(app);
  whale::cli::register_logits(app);
  whale::cli::register_generate(app);
  whale::cli::register_make_model(app);
  whale::cli::register_bench(app);
  whale::cli::register_prompt(app);
  whale::cli::register_chat(app);
  whale::cli::register_tokenize(app);
  whale::cli::register_pull(app);
  whale::cli::register_list(app);
  whale::cli::register_quantize(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const whale::Error& e) {
    std::fprintf(stderr, "whale: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "whale: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "whale: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
