// A stand-in for the Hugging Face hub on 127.0.0.1: the revision and tree APIs, resolve URLs
// that redirect LFS files to a "CDN" on a second port, Range requests, gated repositories
// and 404s, plus switches to break downloads on purpose. Serves <root>/<org>/<name>/...
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace whale::test {

class FakeHub {
 public:
  static constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

  explicit FakeHub(std::filesystem::path root);
  ~FakeHub();  // stops the server thread and closes its sockets
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:<hub port>"

  // Resolve URLs of `repo` answer 401 (X-Error-Code: GatedRepo) without "Bearer <token>".
  void gate(const std::string& repo, const std::string& token);
  // The next download of `path` (a path in any repo, or a file name) stops after `bytes`
  // body bytes.
  void cut_next_download(const std::string& path, std::int64_t bytes);
  // Downloads of `path` (or a file name) serve its bytes with one flipped; the tree keeps the
  // true sha256.
  void corrupt(const std::string& path);
  // Downloads answer Range requests with the whole file (200), as some servers do.
  void ignore_ranges(bool ignore);
  // Tree API entries per page (the rest through Link: rel="next").
  void set_page_size(std::size_t entries);

  struct Request {
    std::string server;                          // "hub" or "cdn"
    std::string target;                          // path and query as sent
    std::map<std::string, std::string> headers;  // names in lower case
    std::string header(const std::string& name) const;
  };
  std::vector<Request> requests() const;
  void clear_requests();

 private:
  struct Response;
  void serve();
  void handle(int client, const std::string& server);
  Response answer(const Request& request, const std::string& server);
  Response answer_hub(const Request& request);
  Response answer_file(const std::string& repo, const std::string& path, const Request& request);

  std::filesystem::path root_;
  int hub_socket_ = -1, cdn_socket_ = -1, wake_pipe_[2] = {-1, -1};
  int hub_port_ = 0, cdn_port_ = 0;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::map<std::string, std::string> gated_;  // repo -> token
  std::map<std::string, std::int64_t> cuts_;  // path -> bytes before the connection drops
  std::set<std::string> corrupted_;
  bool ignore_ranges_ = false;
  std::size_t page_size_ = 1000;
  std::vector<Request> requests_;
};

// True when `name` would be stored in LFS on the hub (weights), false for small text files.
bool is_lfs_file(const std::string& name);

}  // namespace whale::test
