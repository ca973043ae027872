#include "util/mapped_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

// A file of at least 2 MiB is mapped at a 2 MiB boundary, and re-reading any part of it, or
// prefaulting it with prefault_files, keeps its bytes.
TEST(MappedFile, RereadAndPrefaultFilesKeepTheBytes) {
  const std::string path = temp_path("large");
  std::string content((std::size_t{5} << 20) + 777, '\0');
  std::uint32_t state = 12345;
  for (char& c : content) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  std::ofstream(path, std::ios::binary) << content;
  const std::string small = temp_path("small");
  std::ofstream(small, std::ios::binary) << content.substr(0, 1000);
  {
    const MappedFile map(path), tiny(small);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(map.bytes().data()) % (std::uintptr_t{2} << 20), 0u);
    const auto view = [](const MappedFile& m) {
      return std::string(reinterpret_cast<const char*>(m.bytes().data()), m.size());
    };
    map.reread((1 << 20) + 123, (4 << 20) + 5);
    EXPECT_EQ(view(map), content);
    map.reread(content.size() - 10, content.size() + 4096);  // past the end: clipped
    map.reread(0, 0);
    EXPECT_EQ(view(map), content);
    const MappedFile* files[] = {&map, &tiny};
    std::uint64_t announced = 0;
    const PrefaultStats stats = prefault_files(files, [&](std::uint64_t b) { announced = b; });
    EXPECT_EQ(stats.bytes, content.size() + 1000);
    EXPECT_LE(stats.huge_bytes, std::uint64_t{4} << 20);  // whole 2 MiB pages of the large file
    EXPECT_EQ(stats.reread_bytes, 0u);  // 4 MiB that could be in 2 MiB pages: below a window
    EXPECT_EQ(announced, 0u);
    EXPECT_EQ(view(map), content);
    EXPECT_EQ(view(tiny), content.substr(0, 1000));
  }
  std::remove(path.c_str());
  std::remove(small.c_str());
}

// A file the page cache holds in 4 KiB pages (read with read-ahead off) is re-read into 2 MiB
// pages where the filesystem can hold them; either way its bytes stay, and what prefault_files
// reports adds up.
TEST(MappedFile, PrefaultFilesRereadsFilesCachedInSmallPages) {
  const std::string path = temp_path("cached");
  const std::size_t size = std::size_t{80} << 20;
  std::vector<std::uint32_t> words(size / 4);
  for (std::size_t i = 0; i < words.size(); ++i)
    words[i] = static_cast<std::uint32_t>(i * 2654435761u);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(words.data()), size);
  {
    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    std::vector<char> page(4096);
    for (std::size_t at = 0; at < size; at += page.size())
      ASSERT_EQ(::pread(fd, page.data(), page.size(), static_cast<off_t>(at)), 4096);
    ::close(fd);
  }
  const MappedFile map(path);
  const MappedFile* files[] = {&map};
  std::uint64_t announced = 0;
  const PrefaultStats stats = prefault_files(files, [&](std::uint64_t b) { announced = b; });
  EXPECT_EQ(stats.bytes, size);
  EXPECT_LE(stats.huge_bytes, size);
  EXPECT_LE(stats.reread_bytes, size);
  EXPECT_EQ(announced > 0, stats.reread_bytes > 0);  // announced exactly when it re-reads
  if (stats.reread_bytes > 0) {
    EXPECT_GE(stats.reread_seconds, 0.0);
  }
  EXPECT_EQ(std::memcmp(map.bytes().data(), words.data(), size), 0);
  std::remove(path.c_str());
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
