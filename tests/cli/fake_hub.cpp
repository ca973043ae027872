#include "cli/fake_hub.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "util/digest.h"

namespace whale::test {
namespace {

namespace fs = std::filesystem;

int listen_on_loopback(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // ephemeral
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port = ntohs(address.sin_port);
  return fd;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string url_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t from, char separator) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i)
    out += (i > from ? std::string(1, separator) : "") + parts[i];
  return out;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

bool is_lfs_file(const std::string& name) {
  return name.ends_with(".safetensors") || name.ends_with(".gguf") || name.ends_with(".bin");
}

struct FakeHub::Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::int64_t cut_after = -1;  // body bytes sent before the connection is dropped

  static Response error(int status, const std::string& code, const std::string& message) {
    Response r;
    r.status = status;
    r.headers = {
        {"Content-Type", "application/json"}, {"X-Error-Code", code}, {"X-Error-Message", message}};
    r.body = nlohmann::json{{"error", message}}.dump();
    return r;
  }
  static Response json(const nlohmann::json& value) {
    Response r;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = value.dump();
    return r;
  }
};

std::string FakeHub::Request::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

FakeHub::FakeHub(fs::path root) : root_(std::move(root)) {
  hub_socket_ = listen_on_loopback(hub_port_);
  cdn_socket_ = listen_on_loopback(cdn_port_);
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
  thread_ = std::thread([this] { serve(); });
}

FakeHub::~FakeHub() {
  const char stop = 'x';
  [[maybe_unused]] const ssize_t ignored = ::write(wake_pipe_[1], &stop, 1);
  if (thread_.joinable()) thread_.join();
  for (const int fd : {hub_socket_, cdn_socket_, wake_pipe_[0], wake_pipe_[1]})
    if (fd >= 0) ::close(fd);
}

std::string FakeHub::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(hub_port_);
}

void FakeHub::gate(const std::string& repo, const std::string& token) {
  std::lock_guard lock(mutex_);
  gated_[repo] = token;
}
void FakeHub::cut_next_download(const std::string& path, std::int64_t bytes) {
  std::lock_guard lock(mutex_);
  cuts_[path] = bytes;
}
void FakeHub::corrupt(const std::string& path) {
  std::lock_guard lock(mutex_);
  corrupted_.insert(path);
}
void FakeHub::ignore_ranges(bool ignore) {
  std::lock_guard lock(mutex_);
  ignore_ranges_ = ignore;
}
void FakeHub::set_page_size(std::size_t entries) {
  std::lock_guard lock(mutex_);
  page_size_ = entries;
}
std::vector<FakeHub::Request> FakeHub::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}
void FakeHub::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

void FakeHub::serve() {
  // One connection at a time is enough: whale downloads one file after another, and every
  // answer closes its connection.
  for (;;) {
    pollfd fds[3] = {
        {wake_pipe_[0], POLLIN, 0}, {hub_socket_, POLLIN, 0}, {cdn_socket_, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents != 0) return;
    for (int i = 1; i < 3; ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      const int client = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      timeval timeout{5, 0};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      handle(client, i == 1 ? "hub" : "cdn");
      ::close(client);
    }
  }
}

void FakeHub::handle(int client, const std::string& server) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  std::vector<std::string> lines = split(head.substr(0, head.find("\r\n\r\n")), '\n');
  if (lines.empty()) return;
  Request request;
  request.server = server;
  const std::vector<std::string> request_line = split(lines[0], ' ');
  if (request_line.size() < 2) return;
  request.target = request_line[1];
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    const auto value = line.find_first_not_of(' ', colon + 1);
    request.headers[name] = value == std::string::npos ? "" : line.substr(value);
  }
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  const Response response = answer(request, server);
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " X\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out +=
      "Content-Length: " + std::to_string(response.body.size()) + "\r\nConnection: close\r\n\r\n";
  const std::size_t body_bytes =
      response.cut_after >= 0
          ? std::min(response.body.size(), static_cast<std::size_t>(response.cut_after))
          : response.body.size();
  if (send_all(client, out.data(), out.size())) send_all(client, response.body.data(), body_bytes);
  ::shutdown(client, SHUT_WR);
}

FakeHub::Response FakeHub::answer(const Request& request, const std::string& server) {
  const std::string path = url_decode(request.target.substr(0, request.target.find('?')));
  const std::vector<std::string> parts = split(path, '/');  // "", org, name, ...
  if (server == "cdn") {
    // /cdn/<org>/<name>/<path>: signed CDN URLs need no token.
    if (parts.size() < 5 || parts[1] != "cdn") return Response::error(404, "", "no such CDN path");
    return answer_file(parts[2] + "/" + parts[3], join(parts, 4, '/'), request);
  }
  if (path.starts_with("/api/models/")) return answer_hub(request);
  // /<org>/<name>/resolve/<revision>/<path>
  if (parts.size() < 6 || parts[3] != "resolve") return Response::error(404, "", "no such page");
  const std::string repo = parts[1] + "/" + parts[2], file = join(parts, 5, '/');
  if (!fs::is_directory(root_ / repo))
    return Response::error(401, "RepoNotFound", "Repository Not Found for url");
  if (parts[4] != "main" && parts[4] != kCommit)
    return Response::error(404, "RevisionNotFound", "Invalid rev id: " + parts[4]);
  {
    std::lock_guard lock(mutex_);
    if (const auto it = gated_.find(repo);
        it != gated_.end() && request.header("authorization") != "Bearer " + it->second)
      return Response::error(401, "GatedRepo", "Access to model " + repo + " is restricted.");
  }
  if (!fs::is_regular_file(root_ / repo / file))
    return Response::error(404, "EntryNotFound", "Entry not found");
  if (!is_lfs_file(file)) return answer_file(repo, file, request);
  Response redirect;
  redirect.status = 302;
  redirect.headers = {{"Location", "http://127.0.0.1:" + std::to_string(cdn_port_) + "/cdn/" +
                                       repo + "/" + file + "?signature=abc"},
                      {"X-Repo-Commit", kCommit}};
  return redirect;
}

FakeHub::Response FakeHub::answer_hub(const Request& request) {
  const std::string target = request.target;
  const std::string path = url_decode(target.substr(0, target.find('?')));
  const std::vector<std::string> parts = split(path, '/');  // "", api, models, org, name, kind, rev
  if (parts.size() != 7) return Response::error(404, "", "no such API");
  const std::string repo = parts[3] + "/" + parts[4], kind = parts[5], revision = parts[6];
  if (!fs::is_directory(root_ / repo))
    return Response::error(404, "RepoNotFound", "Repository not found");
  if (revision != "main" && revision != kCommit)
    return Response::error(404, "RevisionNotFound", "Invalid rev id: " + revision);

  nlohmann::json entries = nlohmann::json::array();
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(root_ / repo))
    paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    const std::string relative = fs::relative(p, root_ / repo).generic_string();
    if (fs::is_directory(p)) {
      entries.push_back({{"type", "directory"}, {"oid", "d0"}, {"size", 0}, {"path", relative}});
      continue;
    }
    const std::string bytes = read_file(p);
    nlohmann::json e = {{"type", "file"},
                        {"oid", git_blob_sha1_of_file(p.string())},
                        {"size", bytes.size()},
                        {"path", relative}};
    if (is_lfs_file(relative))
      e["lfs"] = {{"oid", sha256_hex(bytes)}, {"size", bytes.size()}, {"pointerSize", 134}};
    entries.push_back(e);
  }
  if (kind == "revision") {
    nlohmann::json siblings = nlohmann::json::array();
    for (const auto& e : entries)
      if (e["type"] == "file") siblings.push_back({{"rfilename", e["path"]}});
    return Response::json({{"id", repo}, {"sha", kCommit}, {"siblings", siblings}});
  }
  if (kind != "tree") return Response::error(404, "", "no such API");
  std::size_t page_size, cursor = 0;
  {
    std::lock_guard lock(mutex_);
    page_size = page_size_;
  }
  if (const auto at = target.find("cursor="); at != std::string::npos)
    cursor = std::stoul(target.substr(at + 7));
  nlohmann::json page = nlohmann::json::array();
  for (std::size_t i = cursor; i < entries.size() && i < cursor + page_size; ++i)
    page.push_back(entries[i]);
  Response response = Response::json(page);
  if (cursor + page_size < entries.size())
    response.headers.emplace_back(
        "Link", "<" + endpoint() + "/api/models/" + repo + "/tree/" + revision +
                    "?recursive=true&cursor=" + std::to_string(cursor + page_size) +
                    ">; rel=\"next\"");
  return response;
}

FakeHub::Response FakeHub::answer_file(const std::string& repo, const std::string& path,
                                       const Request& request) {
  const fs::path file = root_ / repo / path;
  if (!fs::is_regular_file(file)) return Response::error(404, "EntryNotFound", "Entry not found");
  std::string bytes = read_file(file);
  Response response;
  bool ignore_ranges;
  {
    std::lock_guard lock(mutex_);
    ignore_ranges = ignore_ranges_;
    const auto names = [&](const std::string& key) {
      return path == key || path.ends_with("/" + key);
    };
    if (std::any_of(corrupted_.begin(), corrupted_.end(), names) && !bytes.empty())
      bytes[bytes.size() / 2] ^= 0x5a;
    for (auto it = cuts_.begin(); it != cuts_.end(); ++it) {
      if (!names(it->first)) continue;
      response.cut_after = it->second;
      cuts_.erase(it);
      break;
    }
  }
  response.headers = {{"Content-Type", "application/octet-stream"}, {"Accept-Ranges", "bytes"}};
  const std::string range = request.header("range");
  if (range.starts_with("bytes=") && !ignore_ranges) {
    const std::size_t start = std::stoull(range.substr(6));
    if (start >= bytes.size()) {
      response.status = 416;
      response.headers.emplace_back("Content-Range", "bytes */" + std::to_string(bytes.size()));
      response.cut_after = -1;
      return response;
    }
    response.status = 206;
    response.headers.emplace_back("Content-Range", "bytes " + std::to_string(start) + "-" +
                                                       std::to_string(bytes.size() - 1) + "/" +
                                                       std::to_string(bytes.size()));
    bytes.erase(0, start);
  }
  response.body = std::move(bytes);
  return response;
}

}  // namespace whale::test
