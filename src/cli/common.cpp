#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include "cli/commands.h"
#include "util/byte_size.h"
#include "util/error.h"

namespace whale::cli {

PrefaultStats prefault_weights(const Model& model, const std::string& path) {
  return model.prefault([&](std::uint64_t bytes) {
    fmt::print(stderr,
               "{}: re-reading {} of weights into 2 MiB pages (the page cache holds them in "
               "4 KiB pages, which decoding reads more slowly); later runs start at once\n",
               path, format_byte_size(static_cast<std::int64_t>(bytes)));
  });
}

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

void check_ids_in_vocabulary(const std::vector<std::int32_t>& ids, std::int64_t vocab_size,
                             const std::string& option, const std::string& model) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= vocab_size)
      fail("{}: token id {} (item {}) is outside the vocabulary [0, {}) of {}", option, ids[i], i,
           vocab_size, model);
}

}  // namespace whale::cli
