#include "util/digest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace whale {
namespace {

TEST(Digest, Sha256MatchesFipsVectors) {
  EXPECT_EQ(sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string abc = "abc";
  EXPECT_EQ(sha256_hex(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, IncrementalUpdatesEqualOneShotAndHexDigestDoesNotConsume) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Digest digest(DigestAlgorithm::sha256);
  digest.update(std::string_view(text).substr(0, 10));
  const std::string partial = digest.hex_digest();
  EXPECT_EQ(partial, sha256_hex(std::string_view(text).substr(0, 10)));
  digest.update(std::string_view(text).substr(10));
  EXPECT_EQ(digest.hex_digest(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  digest.reset();
  EXPECT_EQ(digest.hex_digest(), sha256_hex({}));
}

TEST(Digest, GitBlobIdMatchesGit) {
  // `printf 'hello world\n' | git hash-object --stdin`
  const std::string path = ::testing::TempDir() + "/whale_digest_blob";
  std::ofstream(path, std::ios::binary) << "hello world\n";
  EXPECT_EQ(git_blob_sha1_of_file(path), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
  std::ofstream(path, std::ios::binary | std::ios::trunc).flush();
  EXPECT_EQ(git_blob_sha1_of_file(path), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  std::remove(path.c_str());
}

TEST(Digest, ShortFileIsReportedWithItsPath) {
  const std::string path = ::testing::TempDir() + "/whale_digest_short";
  std::ofstream(path, std::ios::binary) << "abc";
  Digest digest(DigestAlgorithm::sha256);
  try {
    digest_file_prefix(path, 10, digest);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace whale
