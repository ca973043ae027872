// A read-only memory map of a whole file. Weights are used in place from these maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace whale {

class MappedFile {
 public:
  // Maps `path` read-only; throws whale::Error naming the file when it cannot.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::string& path() const { return path_; }
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  // Maps every page now (reading ahead what the page cache lacks), so that computing on the
  // weights takes no page faults; for files whose bytes will all be used, not for inspection.
  void prefault() const;

 private:
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace whale
