// whale::Error: the one exception type library code throws. Its message names the file,
// tensor, field or argument at fault and what was expected; the command line prints it
// and exits non-zero. Library code never calls exit().
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace whale {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// fail("{}: tensor {} has shape {}, expected {}", file, name, ...) throws whale::Error.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace whale
