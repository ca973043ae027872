#include "util/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <utility>

namespace whale {
namespace {

constexpr std::size_t kPage = 4096;

std::size_t whole_pages(std::size_t bytes) {
  return (bytes + kPage - 1) / kPage * kPage;
}

}  // namespace

void* reserve_huge_aligned(std::size_t bytes) {
  const std::size_t size = whole_pages(bytes), span = size + kHugePageBytes;
  void* reserved =
      ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  const auto lo = reinterpret_cast<std::uintptr_t>(reserved);
  const std::uintptr_t at = (lo + kHugePageBytes - 1) & ~(std::uintptr_t{kHugePageBytes} - 1);
  if (at > lo) ::munmap(reserved, at - lo);  // give back the slack on both sides
  if (lo + span > at + size) ::munmap(reinterpret_cast<void*>(at + size), lo + span - at - size);
  return reinterpret_cast<void*>(at);
}

LargeBuffer::LargeBuffer(std::size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  void* p = reserve_huge_aligned(bytes);
  if (p != MAP_FAILED)
    p = ::mmap(p, whole_pages(bytes), PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, whole_pages(bytes), MADV_HUGEPAGE);  // only a hint: 4 KiB pages still work
  data_ = p;
}

void LargeBuffer::release() noexcept {
  if (data_ != nullptr) ::munmap(data_, whole_pages(size_));
  data_ = nullptr;
  size_ = 0;
}

LargeBuffer::~LargeBuffer() {
  release();
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace whale
