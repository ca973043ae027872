// Downloading one file of a hub repository into a local folder: resumable through
// "<file>.part" and Range requests, verified against the hub's sha256 (LFS files) or git
// blob id (the rest) before it is renamed into place.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "hub/hub.h"

namespace whale::hub {

struct DownloadOptions {
  int retries = 5;  // further attempts after a broken connection or a 5xx/429 answer
  std::chrono::milliseconds first_retry_delay{500};  // doubles on every retry
};

struct DownloadCallbacks {
  std::function<void()> checking;  // an existing copy is being verified
  // Bytes requested from the server start at `offset` (0, or the size of a kept .part).
  std::function<void(std::int64_t offset)> started;
  std::function<void(std::int64_t bytes_done)> progress;  // bytes of the file on disk so far
  std::function<void(const std::string& reason, std::chrono::milliseconds wait)> retrying;
};

enum class DownloadResult { already_present, downloaded };

// Fetches `file` of `repo` at `revision` to `destination`. Keeps the .part file when the
// transfer fails, so that the next call resumes it; deletes it when its hash is wrong.
// Throws whale::Error saying what failed and what to do.
DownloadResult download_file(const HubClient& hub, const std::string& repo,
                             const std::string& revision, const RemoteFile& file,
                             const std::string& destination, const DownloadOptions& options,
                             const DownloadCallbacks& callbacks);

// True when `path` holds exactly `file`: same size, same sha256 (LFS) or git blob id.
bool local_copy_matches(const std::string& path, const RemoteFile& file);

}  // namespace whale::hub
