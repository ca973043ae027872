#include "hub/hub.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "util/error.h"
#include "util/json_file.h"

namespace whale::hub {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string trim_whitespace(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string token_file_path() {
  if (const std::string path = env("HF_TOKEN_PATH"); !path.empty()) return path;
  if (const std::string home = env("HF_HOME"); !home.empty()) return home + "/token";
  if (const std::string cache = env("XDG_CACHE_HOME"); !cache.empty())
    return cache + "/huggingface/token";
  if (const std::string home = env("HOME"); !home.empty())
    return home + "/.cache/huggingface/token";
  return "";
}

// huggingface_hub's rule for a repository id part: letters, digits, '-', '_', '.', starting
// and ending with a letter or digit, no "--" or "..".
std::string check_name_part(std::string_view part, const char* what) {
  if (part.empty()) return fmt::format("the {} is empty", what);
  for (const char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return fmt::format("the {} '{}' holds '{}'", what, part, c);
  }
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.')
    return fmt::format("the {} '{}' starts or ends with '-' or '.'", what, part);
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos)
    return fmt::format("the {} '{}' holds \"--\" or \"..\"", what, part);
  return "";
}

// A path inside a repository that is safe to join to a local folder.
bool is_safe_relative_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  if (path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos)
    return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

std::string_view base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.ends_with(suffix);
}

bool is_default_download(const RemoteFile& file) {
  if (file.path.find('/') != std::string::npos) return false;  // top level only
  const std::string_view name = file.path;
  return ends_with(name, ".safetensors") || ends_with(name, ".json") ||
         name.starts_with("tokenizer") || ends_with(name, ".tiktoken") || name == "vocab.txt" ||
         name == "merges.txt" || name == "spiece.model";
}

bool glob_matches(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// "dir/Model-Q4_K_M-00002-of-00009.gguf" -> "dir/Model-Q4_K_M-of-00009": the key its sibling
// parts share; "" when the name is not a split part.
std::string gguf_split_key(std::string_view path) {
  constexpr std::string_view kExtension = ".gguf";
  constexpr std::size_t kSuffix = std::string_view("-00001-of-00009").size();
  if (!path.ends_with(kExtension) || path.size() < kExtension.size() + kSuffix) return "";
  const std::string_view stem = path.substr(0, path.size() - kExtension.size());
  const std::string_view suffix = stem.substr(stem.size() - kSuffix);
  const auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (suffix[0] != '-' || !digits(suffix.substr(1, 5)) || suffix.substr(6, 4) != "-of-" ||
      !digits(suffix.substr(10, 5)))
    return "";
  return std::string(stem.substr(0, stem.size() - kSuffix)) + std::string(suffix.substr(6));
}

std::string extension_of(std::string_view path) {
  const std::string_view name = base_name(path);
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos ? "" : std::string(name.substr(dot));
}

std::string list_some(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 12;
  std::string out;
  for (std::size_t i = 0; i < std::min(names.size(), kShown); ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > kShown) out += fmt::format(" and {} more", names.size() - kShown);
  return out;
}

// The hub's error text: the X-Error-Message header or the body's {"error": ...}.
std::string hub_error_message(const HttpResponse& response) {
  if (std::string message = response.header("x-error-message"); !message.empty()) return message;
  try {
    const auto body = nlohmann::json::parse(response.body);
    if (body.is_object() && body.contains("error") && body["error"].is_string())
      return body["error"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

std::string host_of(std::string_view url) {
  std::string origin = url_origin(url);
  const auto scheme_end = origin.find("://");
  return scheme_end == std::string::npos ? origin : origin.substr(scheme_end + 3);
}

}  // namespace

HubSettings HubSettings::from_environment() {
  HubSettings settings;
  if (std::string endpoint = env("HF_ENDPOINT"); !endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://"))
      fail(
          "HF_ENDPOINT: expected an http:// or https:// URL such as https://huggingface.co, got "
          "'{}'",
          env("HF_ENDPOINT"));
    settings.endpoint = endpoint;
  }
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    if (std::string token = trim_whitespace(env(name)); !token.empty()) {
      settings.token = token;
      settings.token_source = name;
      return settings;
    }
  }
  if (const std::string path = token_file_path(); !path.empty()) {
    std::ifstream in(path);
    std::stringstream text;
    if (in && (text << in.rdbuf())) {
      settings.token = trim_whitespace(text.str());
      if (!settings.token.empty()) settings.token_source = path;
    }
  }
  return settings;
}

std::string check_repo_argument(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view repo = text.substr(0, colon);
  const auto slash = repo.find('/');
  if (slash == std::string_view::npos || repo.find('/', slash + 1) != std::string_view::npos)
    return fmt::format(
        "'{}': expected ORG/NAME[:FILE], e.g. deepseek-ai/DeepSeek-V2-Lite or "
        "unsloth/DeepSeek-R1-GGUF:*Q4_K_M*.gguf",
        text);
  if (repo.size() > 96) return fmt::format("'{}': a repository id has at most 96 characters", repo);
  for (const auto& [part, what] : {std::pair{repo.substr(0, slash), "organisation"},
                                   std::pair{repo.substr(slash + 1), "model name"}}) {
    if (std::string problem = check_name_part(part, what); !problem.empty())
      return fmt::format(
          "'{}': {}; expected ORG/NAME[:FILE] with letters, digits, '-', '_' "
          "and '.'",
          text, problem);
  }
  if (colon != std::string_view::npos) {
    const std::string_view file = text.substr(colon + 1);
    if (file.empty())
      return fmt::format("'{}': nothing after ':'; expected ORG/NAME:FILE with a file name or glob",
                         text);
    if (!is_safe_relative_path(file))
      return fmt::format("'{}': '{}' is not a path inside the repository; expected ORG/NAME:FILE",
                         text, file);
  }
  return "";
}

RepoRef parse_repo_argument(std::string_view text) {
  if (std::string problem = check_repo_argument(text); !problem.empty()) fail("{}", problem);
  const auto colon = text.find(':');
  RepoRef ref;
  ref.repo = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) ref.file_pattern = std::string(text.substr(colon + 1));
  return ref;
}

std::vector<RemoteFile> select_files(const std::vector<RemoteFile>& files, const RepoRef& ref,
                                     const std::string& revision) {
  std::vector<RemoteFile> chosen;
  if (ref.file_pattern.empty()) {
    std::copy_if(files.begin(), files.end(), std::back_inserter(chosen), is_default_download);
    if (chosen.empty()) {
      std::vector<std::string> ggufs;
      for (const auto& f : files)
        if (f.path.ends_with(".gguf")) ggufs.push_back(f.path);
      if (!ggufs.empty())
        fail(
            "{} at {} has no safetensors or JSON files at its top level, only GGUF files; name "
            "one (or a glob): whale pull {}:{} (GGUF files: {})",
            ref.repo, revision, ref.repo, ggufs.front(), list_some(ggufs));
      fail("{} at {} has no safetensors, JSON or tokenizer files at its top level", ref.repo,
           revision);
    }
    return chosen;
  }
  const auto exact = std::find_if(files.begin(), files.end(),
                                  [&](const RemoteFile& f) { return f.path == ref.file_pattern; });
  if (exact != files.end()) {
    chosen.push_back(*exact);
  } else {
    for (const auto& f : files)
      if (glob_matches(ref.file_pattern, f.path) ||
          glob_matches(ref.file_pattern, std::string(base_name(f.path))))
        chosen.push_back(f);
  }
  if (chosen.empty()) {
    const std::string extension = extension_of(ref.file_pattern);
    std::vector<std::string> candidates;
    for (const auto& f : files)
      if (extension.empty() || extension.find_first_of("*?[") != std::string::npos ||
          extension_of(f.path) == extension)
        candidates.push_back(f.path);
    if (candidates.empty())
      for (const auto& f : files) candidates.push_back(f.path);
    fail("no file in {} at {} matches '{}'; it has: {}", ref.repo, revision, ref.file_pattern,
         candidates.empty() ? std::string("no files") : list_some(candidates));
  }
  std::set<std::string> split_keys;
  for (const auto& f : chosen)
    if (std::string key = gguf_split_key(f.path); !key.empty()) split_keys.insert(key);
  if (!split_keys.empty()) {
    std::set<std::string> have;
    for (const auto& f : chosen) have.insert(f.path);
    for (const auto& f : files)
      if (!have.count(f.path) && split_keys.count(gguf_split_key(f.path))) chosen.push_back(f);
    std::sort(chosen.begin(), chosen.end(),
              [](const RemoteFile& a, const RemoteFile& b) { return a.path < b.path; });
  }
  return chosen;
}

HubClient::HubClient(HubSettings settings) : settings_(std::move(settings)) {}

std::string HubClient::resolve_url(const std::string& repo, const std::string& revision,
                                   const std::string& path) const {
  return fmt::format("{}/{}/resolve/{}/{}", settings_.endpoint, repo, url_encode(revision, false),
                     url_encode(path, true));
}

HttpResponse HubClient::get_json(const std::string& url, const std::string& repo,
                                 const std::string& revision) const {
  HttpRequest request;
  request.url = url;
  request.bearer_token = settings_.token;
  request.total_timeout_s = 120;
  request.accept_compression = true;
  HttpResponse response = http_get(request);
  if (response.transfer != TransferStatus::complete || response.status < 200 ||
      response.status >= 300)
    fail_request(response, repo, revision, "");
  return response;
}

std::string HubClient::resolve_revision(const std::string& repo,
                                        const std::string& revision) const {
  const std::string url = fmt::format("{}/api/models/{}/revision/{}", settings_.endpoint, repo,
                                      url_encode(revision, false));
  const HttpResponse response = get_json(url, repo, revision);
  const nlohmann::json info = parse_json(response.body, url);
  // Some mirrors leave the commit out; then every request names the revision itself.
  if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string()) return revision;
  const std::string sha = info["sha"].get<std::string>();
  const bool hex = sha.size() == 40 && std::all_of(sha.begin(), sha.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) fail("{}: \"sha\" is '{}', expected a 40-digit commit id", url, sha);
  return sha;
}

std::vector<RemoteFile> HubClient::list_files(const std::string& repo,
                                              const std::string& revision) const {
  std::string url = fmt::format("{}/api/models/{}/tree/{}?recursive=true", settings_.endpoint, repo,
                                url_encode(revision, false));
  const std::string origin = url_origin(settings_.endpoint);
  std::vector<RemoteFile> files;
  std::set<std::string> seen;
  for (int page = 0; !url.empty(); ++page) {
    if (page == 10000) fail("{}: the tree of {} runs past 10000 pages", settings_.endpoint, repo);
    const HttpResponse response = get_json(url, repo, revision);
    const nlohmann::json entries = parse_json(response.body, url);
    if (!entries.is_array())
      fail("{}: expected a JSON array of files, got {}", url, json_type_name(entries));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const nlohmann::json& e = entries[i];
      const auto bad = [&](const char* what) {
        fail("{}: entry {} of the file list: {}", url, i, what);
      };
      if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
        bad("expected an object with a \"type\"");
      if (e["type"] != "file") continue;  // "directory" entries come with recursive listings
      RemoteFile file;
      if (!e.contains("path") || !e["path"].is_string()) bad("\"path\" is missing or not a string");
      file.path = e["path"].get<std::string>();
      if (!is_safe_relative_path(file.path))
        fail("{}: the file list names '{}', which is not a path inside the repository", url,
             file.path);
      if (!e.contains("size") || !e["size"].is_number_integer() ||
          e["size"].get<std::int64_t>() < 0)
        bad("\"size\" is missing or not a non-negative integer");
      file.size = e["size"].get<std::int64_t>();
      if (e.contains("oid") && e["oid"].is_string()) file.git_oid = e["oid"].get<std::string>();
      if (e.contains("lfs") && e["lfs"].is_object()) {
        const nlohmann::json& lfs = e["lfs"];
        if (!lfs.contains("oid") || !lfs["oid"].is_string() ||
            lfs["oid"].get<std::string>().size() != 64)
          bad("\"lfs.oid\" is missing or not a sha256");
        file.sha256 = lfs["oid"].get<std::string>();
        if (lfs.contains("size") && lfs["size"].is_number_integer())
          file.size = lfs["size"].get<std::int64_t>();
      }
      if (seen.insert(file.path).second) files.push_back(std::move(file));
    }
    std::string next = next_page_link(response.header("link"));
    if (next.starts_with("/")) next = origin + next;
    // Only follow pages on the hub itself, where the token may go.
    if (!next.empty() && url_origin(next) != origin)
      fail("{}: the next page of the file list is on another server ({})", url, next);
    url = next;
  }
  std::sort(files.begin(), files.end(),
            [](const RemoteFile& a, const RemoteFile& b) { return a.path < b.path; });
  return files;
}

void HubClient::fail_request(const HttpResponse& response, const std::string& repo,
                             const std::string& revision, const std::string& file) const {
  fail("{}", explain_failure(response, repo, revision, file));
}

std::string HubClient::explain_failure(const HttpResponse& response, const std::string& repo,
                                       const std::string& revision, const std::string& file) const {
  const std::string& endpoint = settings_.endpoint;
  const std::string what = file.empty() ? repo : fmt::format("{} in {}", file, repo);
  const std::string host = host_of(response.url);
  const bool at_hub = url_origin(response.url) == url_origin(endpoint);
  switch (response.transfer) {
    case TransferStatus::unreachable:
      if (at_hub)
        return fmt::format(
            "cannot reach the hub at {} ({}); check the network connection, or set HF_ENDPOINT "
            "to a reachable mirror",
            endpoint, response.transfer_error);
      return fmt::format(
          "cannot reach {}, where the hub at {} sent the download of {} ({}); check the network "
          "connection",
          host, endpoint, what, response.transfer_error);
    case TransferStatus::tls:
      return fmt::format(
          "TLS failure talking to {} ({}); check the system's CA certificates, the clock, or "
          "HF_ENDPOINT",
          host, response.transfer_error);
    case TransferStatus::interrupted:
      return fmt::format("the connection to {} broke while fetching {} ({}); run the command again",
                         host, what, response.transfer_error);
    case TransferStatus::aborted:
    case TransferStatus::failed:
      return fmt::format("fetching {} from {} failed: {}", what, host, response.transfer_error);
    case TransferStatus::complete:
      break;
  }
  const std::string code = response.header("x-error-code");
  std::string said = hub_error_message(response);
  said = said.empty() ? "" : fmt::format(" (the hub says: {})", said);
  const long status = response.status;
  const bool with_token = !settings_.token.empty();
  if (code == "GatedRepo" || (code.empty() && (status == 401 || status == 403))) {
    if (with_token)
      return fmt::format(
          "{} refused access to {} (HTTP {}): it is gated or private and the token from {} has "
          "no access; accept the model's conditions at {}/{} with that account, or use another "
          "token{}",
          endpoint, what, status, settings_.token_source, endpoint, repo, said);
    return fmt::format(
        "{} refused access to {} (HTTP {}): it is gated or private; accept its conditions at "
        "{}/{} and set HF_TOKEN to an access token of that account{}",
        endpoint, what, status, endpoint, repo, said);
  }
  if (code == "RepoNotFound")
    return fmt::format("repository {} not found on {} (HTTP {}){}{}", repo, endpoint, status,
                       with_token ? "" : "; if it is private or gated, set HF_TOKEN", said);
  if (code == "RevisionNotFound")
    return fmt::format("revision '{}' not found in {} on {} (HTTP {}){}", revision, repo, endpoint,
                       status, said);
  if (code == "EntryNotFound" || (status == 404 && !file.empty()))
    return fmt::format("file {} not found in {} at revision {} on {} (HTTP {}){}", file, repo,
                       revision, endpoint, status, said);
  if (status == 404)
    return fmt::format("repository {} (revision {}) not found on {} (HTTP 404){}", repo, revision,
                       endpoint, said);
  if (status == 429)
    return fmt::format(
        "{} is rate-limiting requests (HTTP 429); wait a little and run the command again{}{}",
        endpoint, with_token ? "" : ", or set HF_TOKEN", said);
  return fmt::format("{} answered HTTP {} for {}{}", host, status, what, said);
}

std::string next_page_link(std::string_view link_header) {
  // Link: <https://huggingface.co/api/...&cursor=...>; rel="next", <...>; rel="prev"
  std::size_t start = 0;
  while ((start = link_header.find('<', start)) != std::string_view::npos) {
    const auto end = link_header.find('>', start);
    if (end == std::string_view::npos) return "";
    const auto next_entry = link_header.find('<', end);
    const std::string_view params = link_header.substr(end + 1, next_entry - (end + 1));
    if (params.find("rel=\"next\"") != std::string_view::npos ||
        params.find("rel=next") != std::string_view::npos)
      return std::string(link_header.substr(start + 1, end - start - 1));
    start = end;
  }
  return "";
}

}  // namespace whale::hub
