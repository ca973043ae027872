// A small HTTP GET client over libcurl: follows redirects, sends a bearer token to the
// requested origin only, streams bodies to a callback and sorts failures into the kinds a
// user can act on (no network, broken connection, TLS, HTTP status).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace whale::hub {

// How a transfer ended below the HTTP level.
enum class TransferStatus {
  complete,     // a whole HTTP response arrived, whatever its status code
  unreachable,  // DNS failure, connection refused, connect timeout: nothing was received
  interrupted,  // the connection broke or stalled after the request went out
  tls,          // certificate or TLS handshake failure
  aborted,      // a body callback asked to stop
  failed,       // anything else curl reports
};

struct HttpResponse {
  TransferStatus transfer = TransferStatus::failed;
  std::string transfer_error;  // curl's explanation when transfer != complete
  long status = 0;             // status of the last response, after redirects; 0 if none
  std::map<std::string, std::string> headers;  // of the last response, names in lower case
  std::string url;                             // the URL that gave the last response
  std::string body;  // the body when no sink took it (always for non-2xx), up to a cap

  // "" when absent.
  std::string header(const std::string& lower_case_name) const;
};

struct HttpRequest {
  std::string url;
  // Sent as "Authorization: Bearer ..." to the origin (scheme, host, port) of `url` only;
  // curl drops it when a redirect leads elsewhere (CURLOPT_UNRESTRICTED_AUTH stays off).
  std::string bearer_token;
  std::optional<std::int64_t> range_start;  // "Range: bytes=N-"
  // Receives the body of a 2xx final response as it arrives; return false to abort.
  // `head` holds the status and headers. Without a sink the body lands in HttpResponse::body.
  std::function<bool(std::span<const char> bytes, const HttpResponse& head)> body_sink;
  // Called often during the transfer (at least once a second); return false to abort.
  std::function<bool()> on_tick;
  long connect_timeout_s = 15;
  // A transfer slower than 1 KiB/s for this long counts as interrupted.
  long stall_timeout_s = 60;
  // Whole-request limit; 0 for none (downloads of large files).
  long total_timeout_s = 0;
  bool accept_compression = false;  // never for downloads: sizes and ranges refer to raw bytes
};

// Performs the GET. Never throws for network or HTTP failures: they come back in the response.
HttpResponse http_get(const HttpRequest& request);

// Percent-encodes everything but RFC 3986 unreserved characters (and '/' when kept), as
// Python's urllib.parse.quote does for the hub's URLs.
std::string url_encode(std::string_view text, bool keep_slashes);

// "https://host:port" of a URL: everything before the path.
std::string url_origin(std::string_view url);

}  // namespace whale::hub
