#include <charconv>

#include "cli/commands.h"
#include "util/error.h"

namespace whale::cli {

std::vector<std::int32_t> parse_id_list(const std::string& text, const std::string& option) {
  std::vector<std::int32_t> ids;
  std::size_t start = 0;
  if (text.empty()) fail("{}: expected a comma-separated list of token ids, got nothing", option);
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string_view item(text.data() + start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || value < 0 ||
        value > INT32_MAX)
      fail("{}: '{}' is not a token id (expected non-negative integers separated by commas)",
           option, std::string(item));
    ids.push_back(static_cast<std::int32_t>(value));
    start = comma + 1;
  }
  return ids;
}

}  // namespace whale::cli
