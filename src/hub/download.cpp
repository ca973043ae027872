#include "hub/download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <thread>

#include "util/byte_size.h"
#include "util/digest.h"
#include "util/error.h"

namespace whale::hub {
namespace {

// The hash the hub lists for `file`: sha256 of the contents for LFS files, else git's blob
// id (sha1 of "blob <size>\0" + contents); none when the listing gave no git id.
class FileHash {
 public:
  explicit FileHash(const RemoteFile& file)
      : file_(file), digest_(file.is_lfs() ? DigestAlgorithm::sha256 : DigestAlgorithm::sha1) {
    restart();
  }
  bool checked() const { return file_.is_lfs() || !file_.git_oid.empty(); }
  const char* name() const { return file_.is_lfs() ? "sha256" : "git blob id"; }
  const std::string& expected() const { return file_.is_lfs() ? file_.sha256 : file_.git_oid; }
  void restart() {
    digest_.reset();
    if (!file_.is_lfs()) {
      const std::string header = "blob " + std::to_string(file_.size);
      digest_.update({header.c_str(), header.size() + 1});  // the NUL ends git's header
    }
  }
  void update(std::span<const char> bytes) { digest_.update(bytes); }
  Digest& digest() { return digest_; }
  std::string actual() const { return digest_.hex_digest(); }

 private:
  const RemoteFile& file_;
  Digest digest_;
};

// "<destination>.part", opened for writing and locked so that two pulls never write it at once.
class PartFile {
 public:
  explicit PartFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("{}: cannot open for writing: {}", path_, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0)
      fail("{}: another whale pull is downloading this file; wait for it to finish", path_);
  }
  ~PartFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  const std::string& path() const { return path_; }
  std::int64_t size() const {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) fail("{}: cannot stat: {}", path_, std::strerror(errno));
    return info.st_size;
  }
  void truncate() {
    if (::ftruncate(fd_, 0) != 0) fail("{}: cannot truncate: {}", path_, std::strerror(errno));
  }
  // "" on success, else why not.
  std::string write_at(std::span<const char> bytes, std::int64_t offset) {
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::strerror(n < 0 ? errno : EIO);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      offset += n;
    }
    return "";
  }
  void remove() {
    ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
  }
  void rename_to(const std::string& destination) {
    if (::fsync(fd_) != 0) fail("{}: fsync failed: {}", path_, std::strerror(errno));
    if (::rename(path_.c_str(), destination.c_str()) != 0)
      fail("cannot rename {} to {}: {}", path_, destination, std::strerror(errno));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// First byte of "Content-Range: bytes 100-199/200", or -1.
std::int64_t content_range_start(const std::string& header) {
  constexpr std::string_view kPrefix = "bytes ";
  if (!header.starts_with(kPrefix)) return -1;
  std::int64_t start = -1;
  const char* begin = header.data() + kPrefix.size();
  const auto [end, ec] = std::from_chars(begin, header.data() + header.size(), start);
  return ec == std::errc() && end != begin && *end == '-' ? start : -1;
}

}  // namespace

bool local_copy_matches(const std::string& path, const RemoteFile& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || static_cast<std::int64_t>(size) != file.size) return false;
  FileHash hash(file);
  if (!hash.checked()) return true;
  digest_file_prefix(path, file.size, hash.digest());
  return hash.actual() == hash.expected();
}

DownloadResult download_file(const HubClient& hub, const std::string& repo,
                             const std::string& revision, const RemoteFile& file,
                             const std::string& destination, const DownloadOptions& options,
                             const DownloadCallbacks& callbacks) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(destination, ec))
    fail("{}: is a folder, but {} in {} is a file", destination, file.path, repo);
  if (fs::exists(destination, ec)) {
    if (callbacks.checking) callbacks.checking();
    if (local_copy_matches(destination, file)) return DownloadResult::already_present;
  }
  fs::create_directories(fs::path(destination).parent_path(), ec);
  if (ec)
    fail("{}: cannot create the folder: {}", fs::path(destination).parent_path().string(),
         ec.message());

  PartFile part(destination + ".part");
  FileHash hash(file);
  std::int64_t offset = part.size();
  if (offset > file.size) {  // not this file's prefix: start over
    part.truncate();
    offset = 0;
  }
  if (offset > 0) digest_file_prefix(part.path(), offset, hash.digest());
  if (callbacks.started) callbacks.started(offset);

  const auto restart = [&] {
    part.truncate();
    offset = 0;
    hash.restart();
  };
  int retries_left = options.retries;
  auto delay = options.first_retry_delay;
  bool restarted_after_416 = false;
  while (offset < file.size) {
    std::string write_error, protocol_error;
    bool first_chunk = true;
    const std::int64_t offset_before = offset;
    HttpRequest request;
    request.url = hub.resolve_url(repo, revision, file.path);
    request.bearer_token = hub.settings().token;
    if (offset > 0) request.range_start = offset;
    request.body_sink = [&](std::span<const char> bytes, const HttpResponse& head) {
      if (first_chunk) {
        first_chunk = false;
        if (head.status == 206) {
          const std::int64_t start = content_range_start(head.header("content-range"));
          if (start != offset) {
            protocol_error = fmt::format("asked for bytes from {}, got Content-Range '{}'", offset,
                                         head.header("content-range"));
            return false;
          }
        } else if (offset > 0) {
          restart();  // the server ignored the Range header and sends the whole file
        }
      }
      if (offset + static_cast<std::int64_t>(bytes.size()) > file.size) {
        protocol_error =
            fmt::format("the server sent more than the {} bytes the hub lists", file.size);
        return false;
      }
      write_error = part.write_at(bytes, offset);
      if (!write_error.empty()) return false;
      hash.update(bytes);
      offset += static_cast<std::int64_t>(bytes.size());
      return true;
    };
    request.on_tick = [&] {
      if (callbacks.progress) callbacks.progress(offset);
      return true;
    };
    const HttpResponse response = http_get(request);
    if (callbacks.progress) callbacks.progress(offset);
    if (!write_error.empty())
      fail(
          "{}: cannot write: {}; the {} of {} written so far are kept there: run the same "
          "command again to resume",
          part.path(), write_error, format_byte_size(offset), format_byte_size(file.size));

    std::string retry_reason;
    if (!protocol_error.empty()) {
      restart();
      retry_reason = protocol_error;
    } else if (response.transfer == TransferStatus::complete) {
      const long status = response.status;
      if ((status == 200 || status == 206) && offset == file.size) break;
      if (status == 200 || status == 206) {
        retry_reason = fmt::format("the connection closed after {} of {}", format_byte_size(offset),
                                   format_byte_size(file.size));
      } else if (status == 416 && offset > 0 && !restarted_after_416) {
        restarted_after_416 = true;  // the kept .part does not fit the file: start over
        restart();
        continue;
      } else if (status == 429 || status >= 500) {
        retry_reason = fmt::format("HTTP {}", status);
      } else {
        hub.fail_request(response, repo, revision, file.path);
      }
    } else if (response.transfer == TransferStatus::interrupted) {
      retry_reason = fmt::format("the connection to {} broke ({})", url_origin(response.url),
                                 response.transfer_error);
    } else if (response.transfer == TransferStatus::unreachable) {
      retry_reason = hub.explain_failure(response, repo, revision, file.path);
    } else {
      hub.fail_request(response, repo, revision, file.path);
    }

    if (offset > offset_before) {  // progress was made: the budget is for stuck downloads
      retries_left = options.retries;
      delay = options.first_retry_delay;
    }
    if (retries_left <= 0)
      fail(
          "download of {} from {} stopped: {}; {} of {} are kept in {}: run the same command "
          "again to resume",
          file.path, repo, retry_reason, format_byte_size(offset), format_byte_size(file.size),
          part.path());
    --retries_left;
    if (callbacks.retrying) callbacks.retrying(retry_reason, delay);
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }

  if (hash.checked() && hash.actual() != hash.expected()) {
    const std::string actual = hash.actual();
    part.remove();
    fail(
        "{}: the downloaded file's {} is {}, but the hub lists {} for {} in {}; the corrupt "
        "download was deleted, run the command again (if it repeats, the server at {} or a proxy "
        "is altering files)",
        destination, hash.name(), actual, hash.expected(), file.path, repo,
        hub.settings().endpoint);
  }
  part.rename_to(destination);
  return DownloadResult::downloaded;
}

}  // namespace whale::hub
