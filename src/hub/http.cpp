#include "hub/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <mutex>

#include "util/error.h"

namespace whale::hub {
namespace {

constexpr std::size_t kMaxBufferedBodyBytes = std::size_t{256} << 20;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      fail("libcurl: global initialisation failed");
  });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  bool sink_aborted = false;
  bool body_too_large = false;
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

// Called once per header line of every response, redirects included; a status line starts
// a new response, so only the last one's headers remain.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    transfer.response.headers.clear();
    const auto space = line.find(' ');
    long status = 0;
    if (space != std::string_view::npos)
      std::from_chars(line.data() + space + 1, line.data() + line.size(), status);
    transfer.response.status = status;
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    transfer.response.headers[lower(trim(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  const long status = transfer.response.status;
  if (transfer.request->body_sink && status >= 200 && status < 300) {
    if (!transfer.request->body_sink({data, bytes}, transfer.response)) {
      transfer.sink_aborted = true;
      return CURL_WRITEFUNC_ERROR;
    }
    return bytes;
  }
  if (transfer.response.body.size() + bytes > kMaxBufferedBodyBytes) {
    transfer.body_too_large = true;
    return CURL_WRITEFUNC_ERROR;
  }
  transfer.response.body.append(data, bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (transfer.request->on_tick && !transfer.request->on_tick()) {
    transfer.sink_aborted = true;
    return 1;
  }
  return 0;
}

TransferStatus classify(CURLcode code, CURL* curl, const Transfer& transfer) {
  switch (code) {
    case CURLE_OK:
      return TransferStatus::complete;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransferStatus::unreachable;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;  // timed out before a connection was made: unreachable
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
      return connect_us == 0 && transfer.response.status == 0 ? TransferStatus::unreachable
                                                              : TransferStatus::interrupted;
    }
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return TransferStatus::interrupted;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return TransferStatus::tls;
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return transfer.sink_aborted ? TransferStatus::aborted : TransferStatus::failed;
    default:
      return TransferStatus::failed;
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_case_name) const {
  const auto it = headers.find(lower_case_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse http_get(const HttpRequest& request) {
  init_curl_once();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw std::bad_alloc();
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  Transfer transfer;
  transfer.request = &request;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string range =
      request.range_start ? std::to_string(*request.range_start) + "-" : std::string();

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "whale/0.1.0");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_s);
  if (request.total_timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, request.total_timeout_s);
  if (request.accept_compression) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  if (!request.bearer_token.empty()) {
    // curl's own auth (not a hand-made header) so that it follows its rule: credentials go
    // to the first host, port and scheme only, unless CURLOPT_UNRESTRICTED_AUTH, kept off.
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, request.bearer_token.c_str());
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  }
  if (!range.empty()) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  headers.reset(curl_slist_append(nullptr, "Accept: */*"));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  const CURLcode code = curl_easy_perform(c);
  HttpResponse& response = transfer.response;
  response.transfer = classify(code, c, transfer);
  if (code != CURLE_OK)
    response.transfer_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  if (transfer.body_too_large) response.transfer_error = "response body too large";
  char* effective_url = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective_url);
  response.url = effective_url != nullptr ? effective_url : request.url;
  return response;
}

std::string url_encode(std::string_view text, bool keep_slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alphanumeric =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alphanumeric || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slashes && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto path_start = url.find('/', scheme_end + 3);
  return std::string(url.substr(0, path_start));
}

}  // namespace whale::hub
