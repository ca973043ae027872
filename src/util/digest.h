// SHA-256 and SHA-1 through OpenSSL's EVP interface, for checking downloaded files against
// the hashes the Hugging Face hub lists (sha256 for LFS files, git blob sha1 for the rest).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace whale {

enum class DigestAlgorithm { sha1, sha256 };

// An incremental hash. Feed bytes with update(), read the result with hex_digest().
class Digest {
 public:
  explicit Digest(DigestAlgorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::span<const char> bytes);
  void reset();
  // Lower-case hex of the hash of everything fed since construction or reset().
  // Leaves the state as it was, so more bytes may follow.
  std::string hex_digest() const;

 private:
  DigestAlgorithm algorithm_;
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::span<const char> bytes);

// Feeds the first `length` bytes of the file at `path` into `digest`; throws whale::Error
// naming the file when it cannot be read or is shorter.
void digest_file_prefix(const std::string& path, std::int64_t length, Digest& digest);

// The object id git gives a blob: sha1 of "blob <size>\0" followed by the contents.
// The hub lists it as `oid` for files not stored in LFS.
std::string git_blob_sha1_of_file(const std::string& path);

}  // namespace whale
