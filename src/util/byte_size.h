// Byte counts for people: "512 B", "97.66 KiB", "29.26 GiB".
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace whale {

inline std::string format_byte_size(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while ((value >= 1024.0 || value <= -1024.0) && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", value, units[unit]);
}

}  // namespace whale
