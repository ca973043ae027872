// A read-only memory map of a whole file. Weights are used in place from these maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace whale {

class MappedFile {
 public:
  // Maps `path` read-only, at a 2 MiB boundary when the file is that large (so that the kernel
  // can map it through 2 MiB pages); throws whale::Error naming the file when it cannot.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::string& path() const { return path_; }
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  // Maps every page now (reading ahead what the page cache lacks, in 2 MiB pages where the
  // kernel can), so that computing on the weights takes no page faults; for files whose bytes
  // will all be used, not for inspection.
  void prefault() const;
  // Drops the page cache's copy of bytes [begin, end) and reads them again, as prefault does:
  // the page cache keeps a file's pages at the size they were first read in, and 4 KiB ones
  // cost a page walk each. The bytes stay the same; the range is rounded out to whole pages.
  void reread(std::size_t begin, std::size_t end) const;

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// What prefault_files found and did.
struct PrefaultStats {
  std::uint64_t bytes = 0;         // in the files
  bool huge_known = false;         // whether the kernel said how they are mapped
  std::uint64_t huge_bytes = 0;    // of which mapped through 2 MiB pages
  std::uint64_t reread_bytes = 0;  // re-read from the files to get those
  double reread_seconds = 0;
  // huge_bytes / bytes; nullopt when unknown or there are no bytes.
  std::optional<double> huge_fraction() const;
};

// Told the bytes prefault_files is about to re-read, before it starts.
using RereadNotice = std::function<void(std::uint64_t bytes)>;

// Prefaults every file. When the page cache holds a tenth or more of them in 4 KiB pages (a file
// read before without MADV_HUGEPAGE keeps its pages' size), calls `before_reread` with the bytes
// it will re-read and re-reads them (MappedFile::reread) window by window, stopping after the
// first window if that brought no 2 MiB pages (a filesystem or kernel without large folios, or
// memory too fragmented). A decode step reads hundreds of MB of weights scattered over the
// whole file; each 4 KiB page costs a TLB miss, which under virtualisation walks two page
// tables: v3-bench Q8_0 decoded 81-89 tokens/s in 4 KiB pages, 95-102 in 2 MiB ones.
PrefaultStats prefault_files(std::span<const MappedFile* const> files,
                             const RereadNotice& before_reread = {});

}  // namespace whale
