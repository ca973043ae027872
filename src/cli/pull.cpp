// whale pull ORG/NAME[:FILE]: downloads a checkpoint from the Hugging Face hub (or the mirror
// in HF_ENDPOINT) into <models>/ORG/NAME/, resuming what an earlier run left behind.
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/progress.h"
#include "hub/download.h"
#include "hub/hub.h"
#include "hub/local_models.h"
#include "util/byte_size.h"
#include "util/error.h"

namespace whale::cli {
namespace {

namespace fs = std::filesystem;

// Bytes free where `folder` is (or would be created).
std::int64_t free_bytes_at(fs::path folder) {
  std::error_code ec;
  while (!folder.empty() && !fs::exists(folder, ec)) folder = folder.parent_path();
  struct statvfs info {};
  if (folder.empty() || ::statvfs(folder.c_str(), &info) != 0) return -1;
  return static_cast<std::int64_t>(info.f_bavail) * static_cast<std::int64_t>(info.f_frsize);
}

// Bytes still to fetch for `file`, judged by sizes only.
std::int64_t bytes_missing(const hub::RemoteFile& file, const std::string& destination) {
  std::error_code ec;
  if (static_cast<std::int64_t>(fs::file_size(destination, ec)) == file.size && !ec) return 0;
  const auto part = fs::file_size(destination + ".part", ec);
  const std::int64_t have = ec ? 0 : static_cast<std::int64_t>(part);
  return have <= file.size ? file.size - have : file.size;
}

}  // namespace

void register_pull(CLI::App& app) {
  struct Options {
    std::string what;
    std::string revision = "main";
    std::string models_dir;
    int retries = 5;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "pull",
      "Download a model from the Hugging Face hub (HF_ENDPOINT, HF_TOKEN) into the models folder");
  cmd->add_option("model", opt->what,
                  "ORG/NAME for its safetensors, JSON and tokenizer files, or ORG/NAME:FILE for "
                  "one file or a glob (e.g. unsloth/DeepSeek-R1-GGUF:*Q4_K_M*.gguf)")
      ->required()
      ->check(CLI::Validator([](std::string& text) { return hub::check_repo_argument(text); },
                             "ORG/NAME[:FILE]"));
  cmd->add_option("--revision", opt->revision, "Branch, tag or commit (default main)");
  cmd->add_option("--models-dir", opt->models_dir,
                  "Models folder (default $WHALE_MODELS or ~/.cache/whale/models)");
  cmd->add_option("--retries", opt->retries,
                  "Attempts to resume a broken download before giving up (default 5)")
      ->check(CLI::Range(0, 100));
  cmd->callback([opt] {
    const hub::RepoRef ref = hub::parse_repo_argument(opt->what);
    const hub::HubClient client(hub::HubSettings::from_environment());
    const std::string models_dir =
        opt->models_dir.empty() ? hub::default_models_dir() : opt->models_dir;
    const fs::path folder = fs::path(models_dir) / ref.repo;

    const std::string commit = client.resolve_revision(ref.repo, opt->revision);
    const std::vector<hub::RemoteFile> files =
        hub::select_files(client.list_files(ref.repo, commit), ref, opt->revision);

    std::int64_t total = 0, missing = 0;
    for (const auto& f : files) {
      total += f.size;
      missing += bytes_missing(f, (folder / f.path).string());
    }
    const std::int64_t free = free_bytes_at(folder);
    if (free >= 0 && missing > free)
      fail("{}: {} needs {} more on disk, but only {} are free there", folder.string(), ref.repo,
           format_byte_size(missing), format_byte_size(free));

    const std::string at = commit == opt->revision
                               ? commit
                               : fmt::format("{} ({})", opt->revision, commit.substr(0, 12));
    fmt::print(stderr, "pulling {} at {} from {} into {}: {} file{}, {}\n", ref.repo, at,
               client.settings().endpoint, folder.string(), files.size(),
               files.size() == 1 ? "" : "s", format_byte_size(total));

    DownloadProgress progress(stderr, ::isatty(fileno(stderr)) == 1);
    hub::DownloadOptions options;
    options.retries = opt->retries;
    int downloaded = 0, present = 0;
    for (const auto& file : files) {
      const std::string destination = (folder / file.path).string();
      hub::DownloadCallbacks callbacks;
      bool begun = false;
      callbacks.checking = [&] {
        // Hashing a large file takes a while: say why nothing seems to happen.
        if (file.size >= (std::int64_t{256} << 20))
          fmt::print(stderr, "{}: checking the copy on disk\n", file.path);
      };
      callbacks.started = [&](std::int64_t offset) {
        progress.begin(file.path, file.size, offset);
        begun = true;
      };
      callbacks.progress = [&](std::int64_t done) { progress.update(done); };
      callbacks.retrying = [&](const std::string& reason, std::chrono::milliseconds wait) {
        progress.note(fmt::format("{}: {}; resuming in {:.1f} s", file.path, reason,
                                  static_cast<double>(wait.count()) / 1000.0));
      };
      try {
        const auto result =
            hub::download_file(client, ref.repo, commit, file, destination, options, callbacks);
        if (result == hub::DownloadResult::already_present) {
          fmt::print(stderr, "{}: already present\n", file.path);
          ++present;
        } else {
          progress.end(true);
          ++downloaded;
        }
      } catch (...) {
        if (begun) progress.end(false);
        throw;
      }
    }
    fmt::print(stderr, "{}: {} downloaded, {} already present\n", ref.repo, downloaded, present);
    // stdout holds where the model is, for scripts: the folder, or the files asked for.
    if (ref.file_pattern.empty()) {
      fmt::print("{}\n", folder.string());
    } else {
      for (const auto& file : files) fmt::print("{}\n", (folder / file.path).string());
    }
  });
}

}  // namespace whale::cli
