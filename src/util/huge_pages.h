// Memory in 2 MiB pages where the kernel allows. A decode step reads hundreds of MB scattered
// over the weights and, at depth, the whole KV cache; in 4 KiB pages each page costs a TLB miss,
// which under virtualisation walks two page tables.
#pragma once

#include <cstddef>

namespace whale {

// x86-64's 2 MiB (PMD) page.
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// Reserves `bytes` of address space (PROT_NONE, rounded up to 4 KiB pages) starting at a
// multiple of 2 MiB, for a mapping to be placed over it with MAP_FIXED. MAP_FAILED (errno
// set) when the address space is exhausted.
void* reserve_huge_aligned(std::size_t bytes);

// Anonymous read-write memory, zero-filled, starting at a 2 MiB boundary and marked
// MADV_HUGEPAGE before any page is touched; pages are backed only as they are written.
class LargeBuffer {
 public:
  LargeBuffer() = default;
  // Throws std::bad_alloc when the system cannot map `bytes`.
  explicit LargeBuffer(std::size_t bytes);
  ~LargeBuffer();
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;

  void* data() const { return data_; }
  std::size_t size() const { return size_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace whale
