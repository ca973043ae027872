#include "util/huge_pages.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <utility>

namespace whale {
namespace {

bool huge_aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kHugePageBytes == 0;
}

// A buffer starts at a 2 MiB boundary, reads as zeros, keeps what is written, and moves.
TEST(LargeBuffer, AlignedZeroFilledWritableAndMovable) {
  const std::size_t n = (std::size_t{5} << 20) + 12;  // not a whole number of pages
  LargeBuffer a(n);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_TRUE(huge_aligned(a.data()));
  EXPECT_EQ(a.size(), n);
  auto* bytes = a.as<unsigned char>();
  for (std::size_t i = 0; i < n; i += 4093) EXPECT_EQ(bytes[i], 0) << i;
  EXPECT_EQ(bytes[n - 1], 0);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(i * 31 + 7);
  LargeBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  ASSERT_EQ(b.size(), n);
  const auto* moved = b.as<unsigned char>();
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i) wrong += moved[i] != static_cast<unsigned char>(i * 31 + 7);
  EXPECT_EQ(wrong, 0u);
  LargeBuffer c(4096);
  c = std::move(b);
  EXPECT_EQ(c.size(), n);
  EXPECT_EQ(c.as<unsigned char>()[n - 1], static_cast<unsigned char>((n - 1) * 31 + 7));
  const LargeBuffer empty(0);
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(empty.size(), 0u);
}

// The reservation is aligned and can be mapped over with MAP_FIXED.
TEST(LargeBuffer, ReservationIsAlignedAndUsable) {
  const std::size_t n = std::size_t{3} << 20;
  void* p = reserve_huge_aligned(n);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_TRUE(huge_aligned(p));
  void* q = ::mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(q, p);
  static_cast<unsigned char*>(q)[n - 1] = 9;
  EXPECT_EQ(static_cast<unsigned char*>(q)[n - 1], 9);
  ::munmap(q, n);
}

}  // namespace
}  // namespace whale
