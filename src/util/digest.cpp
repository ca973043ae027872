#include "util/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace whale {

struct Digest::State {
  EVP_MD_CTX* context = nullptr;
  ~State() { EVP_MD_CTX_free(context); }
};

namespace {

const EVP_MD* evp_algorithm(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha1();
}

}  // namespace

Digest::Digest(DigestAlgorithm algorithm)
    : algorithm_(algorithm), state_(std::make_unique<State>()) {
  state_->context = EVP_MD_CTX_new();
  if (state_->context == nullptr) throw std::bad_alloc();
  reset();
}

Digest::~Digest() = default;

void Digest::reset() {
  if (EVP_DigestInit_ex(state_->context, evp_algorithm(algorithm_), nullptr) != 1)
    fail("OpenSSL: cannot initialise a digest");
}

void Digest::update(std::span<const char> bytes) {
  if (EVP_DigestUpdate(state_->context, bytes.data(), bytes.size()) != 1)
    fail("OpenSSL: digest update failed");
}

std::string Digest::hex_digest() const {
  // Finalising consumes the context, so finalise a copy.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), state_->context) != 1 ||
      EVP_DigestFinal_ex(copy.get(), hash, &length) != 1)
    fail("OpenSSL: digest finalisation failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[hash[i] >> 4]);
    hex.push_back(kHex[hash[i] & 15]);
  }
  return hex;
}

std::string sha256_hex(std::span<const char> bytes) {
  Digest digest(DigestAlgorithm::sha256);
  digest.update(bytes);
  return digest.hex_digest();
}

void digest_file_prefix(const std::string& path, std::int64_t length, Digest& digest) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::vector<char> buffer(std::size_t{1} << 20);
  std::int64_t done = 0;
  while (done < length) {
    const auto want = static_cast<std::size_t>(
        std::min<std::int64_t>(length - done, static_cast<std::int64_t>(buffer.size())));
    const ssize_t got = ::read(fd, buffer.data(), want);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int error = errno;
      ::close(fd);
      if (got == 0) fail("{}: file ended after {} bytes, expected {}", path, done, length);
      fail("{}: read error: {}", path, std::strerror(error));
    }
    digest.update({buffer.data(), static_cast<std::size_t>(got)});
    done += got;
  }
  ::close(fd);
}

std::string git_blob_sha1_of_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) fail("{}: cannot stat: {}", path, std::strerror(errno));
  Digest digest(DigestAlgorithm::sha1);
  const std::string header = "blob " + std::to_string(info.st_size);
  digest.update({header.c_str(), header.size() + 1});  // the header ends with a NUL byte
  digest_file_prefix(path, info.st_size, digest);
  return digest.hex_digest();
}

}  // namespace whale
