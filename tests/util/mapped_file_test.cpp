#include "util/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "util/error.h"

namespace whale {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("whale_mapped_file_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Prefaulting maps pages without changing what they hold, on files that end mid-page and on
// empty ones.
TEST(MappedFile, PrefaultKeepsTheBytesAndAcceptsEmptyFiles) {
  const std::string path = temp_path("data");
  std::string content(3 * 4096 + 5, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
  std::ofstream(path, std::ios::binary) << content;
  {
    const MappedFile map(path);
    map.prefault();
    ASSERT_EQ(map.size(), content.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(map.bytes().data()), map.size()), content);
  }
  const std::string empty = temp_path("empty");
  std::ofstream(empty, std::ios::binary).close();
  {
    const MappedFile map(empty);
    map.prefault();
    EXPECT_EQ(map.size(), 0u);
  }
  std::remove(path.c_str());
  std::remove(empty.c_str());
}

TEST(MappedFile, MissingFileIsOneErrorNamingIt) {
  const std::string path = temp_path("missing");
  try {
    const MappedFile map(path);
    FAIL() << "mapped a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace whale
