#include "util/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "util/error.h"
#include "util/huge_pages.h"

namespace whale {
namespace {

constexpr std::size_t kPage = 4096;

// Maps `size` bytes of `fd` at a 2 MiB boundary: the kernel maps a file through 2 MiB pages
// only where its offset and the address agree modulo 2 MiB.
void* map_aligned(int fd, std::size_t size) {
  if (size < kHugePageBytes) return ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  void* at = reserve_huge_aligned(size);
  if (at == MAP_FAILED) return MAP_FAILED;
  void* p = ::mmap(at, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::munmap(at, size);
    errno = err;
  }
  return p;
}

// Maps pages [p, p + n) now, reading what the page cache lacks. Marked MADV_HUGEPAGE first,
// read-ahead fills the page cache with 2 MiB folios where the filesystem supports them
// (harmless where it does not).
void populate_huge(const std::uint8_t* p, std::size_t n) {
  ::madvise(const_cast<std::uint8_t*>(p), n, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_READ
  if (::madvise(const_cast<std::uint8_t*>(p), n, MADV_POPULATE_READ) == 0) return;
#endif
  volatile std::uint8_t sink = 0;  // kernels before 5.14: one read per page
  for (std::size_t i = 0; i < n; i += kPage) sink = static_cast<std::uint8_t>(sink + p[i]);
}

// Unmaps bytes [begin, end) of `file` here (a private mapping never written to reads the file
// again on the next access) and asks the kernel to drop their cached pages, which it does only
// for pages no one maps. Returns the range, rounded out to whole pages.
std::span<const std::uint8_t> drop_pages(const MappedFile& file, std::size_t begin,
                                         std::size_t end) {
  end = std::min(end, file.size());
  begin = begin / kPage * kPage;
  if (file.size() == 0 || begin >= end) return {};
  const std::span<const std::uint8_t> range = file.bytes().subspan(begin, end - begin);
  ::madvise(const_cast<std::uint8_t*>(range.data()), range.size(), MADV_DONTNEED);
  const int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::posix_fadvise(fd, static_cast<off_t>(begin), static_cast<off_t>(range.size()),
                    POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  return range;
}

// Bytes of `files` mapped through 2 MiB pages, from the FilePmdMapped of their mappings in
// /proc/self/smaps; nullopt where /proc does not say (no procfs, or a kernel before 4.8).
std::optional<std::uint64_t> pmd_mapped_bytes(std::span<const MappedFile* const> files) {
  std::FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return std::nullopt;
  std::optional<std::uint64_t> total;
  bool ours = false;  // whether the mapping being read lies in one of the files
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long lo = 0, hi = 0;
    unsigned long long kib = 0;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's first line
      ours = std::any_of(files.begin(), files.end(), [&](const MappedFile* m) {
        const auto begin = reinterpret_cast<std::uintptr_t>(m->bytes().data());
        return m->size() > 0 && lo >= begin && hi <= begin + m->size() + kPage;
      });
    } else if (std::sscanf(line, "FilePmdMapped: %llu kB", &kib) == 1) {
      total = total.value_or(0) + (ours ? static_cast<std::uint64_t>(kib) * 1024 : 0);
    }
  }
  std::fclose(f);
  return total;
}

// The part of a file that 2 MiB pages can map.
std::uint64_t huge_mappable(std::size_t size) {
  return size / kHugePageBytes * kHugePageBytes;
}

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path_, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path_, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path_);
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = map_aligned(fd, size_);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail("{}: cannot map {} bytes: {}", path_, size_, std::strerror(err));
    }
    data_ = static_cast<const std::uint8_t*>(p);
  }
  ::close(fd);
}

void MappedFile::prefault() const {
  if (data_ != nullptr) populate_huge(data_, size_);
}

void MappedFile::reread(std::size_t begin, std::size_t end) const {
  const std::span<const std::uint8_t> range = drop_pages(*this, begin, end);
  if (!range.empty()) populate_huge(range.data(), range.size());
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

std::optional<double> PrefaultStats::huge_fraction() const {
  if (!huge_known || bytes == 0) return std::nullopt;
  return static_cast<double>(huge_bytes) / static_cast<double>(bytes);
}

PrefaultStats prefault_files(std::span<const MappedFile* const> files,
                             const RereadNotice& before_reread) {
  PrefaultStats stats;
  std::uint64_t mappable = 0;
  for (const MappedFile* f : files) {
    stats.bytes += f->size();
    mappable += huge_mappable(f->size());
  }
  for (const MappedFile* f : files) f->prefault();
  const std::optional<std::uint64_t> mapped = pmd_mapped_bytes(files);
  if (!mapped) return stats;
  stats.huge_known = true;
  stats.huge_bytes = *mapped;
  // A few 4 KiB pages are normal (memory fragmentation); re-read only when a tenth or more of
  // the bytes are (a file whose pages were reclaimed and read again by a process that did not
  // ask for 2 MiB pages comes back partly in 4 KiB pages).
  constexpr std::uint64_t kWindow = std::uint64_t{64} << 20;
  const std::uint64_t missing = mappable > stats.huge_bytes ? mappable - stats.huge_bytes : 0;
  if (missing < kWindow || missing < mappable / 10) return stats;

  if (before_reread) before_reread(mappable);
  const auto t0 = std::chrono::steady_clock::now();
  const auto reread_all = [&] {
    bool checked = false;
    for (const MappedFile* f : files) {
      const std::uint64_t end = huge_mappable(f->size());
      for (std::uint64_t at = 0; at < end; at += kWindow) {
        const std::uint64_t n = std::min(kWindow, end - at);
        stats.reread_bytes += n;
        if (checked || n < 8 * kHugePageBytes) {
          f->reread(at, at + n);
          continue;
        }
        // The first large window: did it come back in 2 MiB pages?
        checked = true;
        const std::span<const std::uint8_t> range = drop_pages(*f, at, at + n);
        const std::optional<std::uint64_t> level = pmd_mapped_bytes(files);
        populate_huge(range.data(), range.size());
        const std::optional<std::uint64_t> now = pmd_mapped_bytes(files);
        if (!level || !now || *now < *level + n / 2) return;
      }
    }
  };
  reread_all();
  stats.reread_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats.huge_bytes = pmd_mapped_bytes(files).value_or(stats.huge_bytes);
  return stats;
}

}  // namespace whale
