// The Hugging Face hub as huggingface_hub talks to it: the endpoint and token from the
// environment, repository ids, the revision and tree APIs, resolve URLs, and errors that say
// what to do (check the network, set HF_TOKEN, fix the name).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hub/http.h"

namespace whale::hub {

struct HubSettings {
  std::string endpoint = "https://huggingface.co";  // no trailing '/'
  std::string token;                                // "" when none
  std::string token_source;                         // "HF_TOKEN", or the token file's path

  // HF_ENDPOINT; HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), else the token file at HF_TOKEN_PATH,
  // else $HF_HOME/token, else ${XDG_CACHE_HOME:-~/.cache}/huggingface/token.
  static HubSettings from_environment();
};

// The command-line argument ORG/NAME[:FILE].
struct RepoRef {
  std::string repo;          // "deepseek-ai/DeepSeek-V2-Lite"
  std::string file_pattern;  // "" for the whole repository; a path or a glob (* ? [...])
};

// "" when `text` is a valid ORG/NAME[:FILE], else what is wrong with it.
std::string check_repo_argument(std::string_view text);
// Throws whale::Error with check_repo_argument's message.
RepoRef parse_repo_argument(std::string_view text);

struct RemoteFile {
  std::string path;  // relative to the repository root, '/'-separated, validated
  std::int64_t size = 0;
  std::string git_oid;  // sha1 of the git blob; for LFS files the blob is the pointer
  std::string sha256;   // LFS files only, else ""

  bool is_lfs() const { return !sha256.empty(); }
};

// Which files `whale pull` fetches. Without a pattern: the top-level *.safetensors, *.json and
// tokenizer files. With one: the file at exactly that path, or else every file whose path or
// name matches it as a glob; a matched GGUF split part ("-00001-of-00009.gguf") brings its
// sibling parts. Throws whale::Error listing candidates when nothing matches.
std::vector<RemoteFile> select_files(const std::vector<RemoteFile>& files, const RepoRef& ref,
                                     const std::string& revision);

class HubClient {
 public:
  explicit HubClient(HubSettings settings);
  const HubSettings& settings() const { return settings_; }

  // The commit a branch, tag or commit id points at (GET /api/models/{repo}/revision/{rev}),
  // so that every file of one pull comes from the same commit.
  std::string resolve_revision(const std::string& repo, const std::string& revision) const;

  // Every file at `revision` (GET /api/models/{repo}/tree/{rev}?recursive=true, all pages).
  std::vector<RemoteFile> list_files(const std::string& repo, const std::string& revision) const;

  // {endpoint}/{repo}/resolve/{revision}/{path}
  std::string resolve_url(const std::string& repo, const std::string& revision,
                          const std::string& path) const;

  // A GET carrying the token; throws whale::Error for anything but a complete 2xx answer.
  HttpResponse get_json(const std::string& url, const std::string& repo,
                        const std::string& revision) const;

  // What went wrong with a failed request about `repo` (and `file`, "" for the repository),
  // in words a user can act on: check the network, set HF_TOKEN, fix the name.
  std::string explain_failure(const HttpResponse& response, const std::string& repo,
                              const std::string& revision, const std::string& file) const;
  // Throws whale::Error with explain_failure's message.
  [[noreturn]] void fail_request(const HttpResponse& response, const std::string& repo,
                                 const std::string& revision, const std::string& file) const;

 private:
  HubSettings settings_;
};

// The rel="next" URL of an RFC 8288 Link header, or "".
std::string next_page_link(std::string_view link_header);

}  // namespace whale::hub
